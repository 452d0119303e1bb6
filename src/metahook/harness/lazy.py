"""Import only the module that defines a name.

Experiment and benchmark modules pull in heavy libraries (torch, z3, scipy). ``metahook run NAME``
and each ``reproduce`` worker need one of them, so :func:`index` reads the package's sources with
:mod:`ast` (no import) and maps each literal name passed to a registering call -- ``Experiment(name=
"...")`` or ``register_benchmark("...", ...)``, or a family's own registering helper such as
``register_oops("...", ...)`` -- to the module that makes it. Names that are not literals are
simply absent from the index; callers then fall back to importing everything.
"""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


@cache
def index(package: str, call: str, keyword: str = "name", prefix: str = "") -> dict[str, str]:
    """``{name: module}`` for the literal names given to ``call(...)`` (or to any plain function
    call whose name starts with ``prefix``, when one is given) in ``package``'s modules."""
    pkg = importlib.import_module(package)
    found: dict[str, str] = {}
    for folder in getattr(pkg, "__path__", []):
        for path in sorted(Path(folder).glob("*.py")):
            if path.name.startswith("_"):
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (OSError, SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                called = _call_name(node)
                helper = prefix and isinstance(node.func, ast.Name) and called.startswith(prefix)
                if called != call and not helper:
                    continue
                value: ast.expr | None = node.args[0] if node.args else None
                for kw in node.keywords:
                    if kw.arg == keyword:
                        value = kw.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.setdefault(value.value, f"{package}.{path.stem}")
    return found
