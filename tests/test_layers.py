"""The layer rule: no module imports from a layer above its own.

Layers, bottom up (as in the docstrings of :mod:`metahook` and :mod:`metahook.core`)::

    cli -> experiments -> rsi -> {search, rl, neural, evolution} -> {machines, envs} -> core
                 |
                 +-> harness (the surface experiments use; algorithms never import it)

:data:`MAY_IMPORT` states, for every package of ``metahook``, the packages it may import from
besides itself. Every ``import`` statement of every module under ``src/metahook`` counts,
including imports inside functions and under ``TYPE_CHECKING``; relative imports are resolved.
The one exception is the harness listing what registers with it (experiments, benchmarks): those
imports are named in :data:`LAZY_LISTINGS` and must stay inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "metahook"

ALGORITHMS = frozenset({"core", "machines", "envs", "search", "rsi", "rl", "neural", "evolution",
                        "curiosity"})

# package -> the packages it may import from (besides itself). "" is the root package
# ``metahook`` itself (only ``__version__``), which any module may import.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "": frozenset(),
    "core": frozenset(),
    "machines": frozenset({"core"}),
    # a task set for a machine is written over that machine's layout (envs/oops_tasks.py)
    "envs": frozenset({"core", "machines"}),
    "search": frozenset({"core", "machines", "envs"}),
    # agents (Q(lambda), later curiosity agents) over the environments
    "rl": frozenset({"core", "machines", "envs"}),
    # intrinsic rewards and the curious agents they drive (like rl, over its agents)
    "curiosity": frozenset({"core", "machines", "envs", "rl"}),
    # the frameworks that keep useful self-modifications may drive a program search or an agent
    "rsi": frozenset({"core", "machines", "envs", "search", "rl"}),
    "neural": frozenset({"core", "machines", "envs"}),
    # evolution may evolve neural networks
    "evolution": frozenset({"core", "machines", "envs", "neural"}),
    # a side layer: algorithms never import it, and it imports no algorithm
    "harness": frozenset({"core"}),
    # the papers' reference figures, typed with the harness's Ref
    "references": frozenset({"core", "harness"}),
    "experiments": ALGORITHMS | {"harness", "references"},
    # benchmarks time the algorithms; they register with the harness but import no experiment
    "benchmarks": ALGORITHMS | {"harness"},
    "cli": ALGORITHMS | {"harness", "references", "experiments", "benchmarks"},
    "__main__": frozenset({"cli"}),
}

# (importing module, imported package): the harness listing what registers with it, lazily
LAZY_LISTINGS = frozenset({
    ("metahook.harness.registry", "metahook.experiments"),
    ("metahook.harness.bench", "metahook.benchmarks"),
})


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str) -> str:
    """The top-level package of ``metahook`` that ``module`` belongs to ("" for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in ``tree``."""
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in top_level
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield name, node.lineno, id(node) in top_level


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` (given its ``source``) that break the layer rule."""
    own = _package(module)
    allowed = MAY_IMPORT[own] | {own, ""}
    out = []
    for name, line, top in _imports(ast.parse(source), module, is_package):
        if name != ROOT and not name.startswith(ROOT + "."):
            continue
        target = _package(name)
        if target in allowed:
            continue
        listing = (module, ".".join(name.split(".")[:2]))
        if listing in LAZY_LISTINGS and not top:
            continue
        out.append(f"{module}:{line} imports {name} ({own or ROOT} -> {target})")
    return out


def _modules() -> list[Path]:
    return sorted((SRC / ROOT).rglob("*.py"))


def test_every_package_has_a_place_in_the_table() -> None:
    packages = {_package(_module_name(p, SRC)) for p in _modules()}
    missing = packages - set(MAY_IMPORT)
    assert not missing, f"add these packages to MAY_IMPORT in tests/test_layers.py: {missing}"


def test_the_table_has_no_cycles() -> None:
    done: set[str] = set()

    def visit(pkg: str, path: tuple[str, ...]) -> None:
        assert pkg not in path, f"cycle in MAY_IMPORT: {' -> '.join((*path, pkg))}"
        if pkg in done:
            return
        for dep in MAY_IMPORT[pkg]:
            visit(dep, (*path, pkg))
        done.add(pkg)

    for pkg in MAY_IMPORT:
        visit(pkg, ())


def test_algorithms_never_import_the_harness() -> None:
    for pkg in ALGORITHMS:
        assert "harness" not in MAY_IMPORT[pkg]
        assert not MAY_IMPORT[pkg] & {"experiments", "benchmarks", "cli", "references"}


def test_no_module_imports_from_a_layer_above_it() -> None:
    found = []
    for path in _modules():
        module = _module_name(path, SRC)
        found += violations(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
    assert not found, "imports up the layers:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("metahook.machines.smp.machine", "from metahook.rsi.ssa import SuccessStory\n"),
        ("metahook.rsi.lives", "def f():\n    from metahook.harness.context import RunContext\n"),
        ("metahook.search.als", "import metahook.rsi.ssa\n"),
        ("metahook.benchmarks.smp", "def f():\n    from metahook.experiments import x\n"),
        ("metahook.core.jit", "from ..machines import forth\n"),
        ("metahook.harness.registry", "from metahook.experiments import load_all\n"),
    ],
)
def test_the_checker_catches_an_upward_import(module: str, source: str) -> None:
    assert violations(source, module)


def test_the_harness_may_list_experiments_lazily() -> None:
    lazy = "def load():\n    from metahook.experiments import load_all\n"
    assert not violations(lazy, "metahook.harness.registry")
    assert violations(lazy, "metahook.harness.report")


def test_experiments_use_the_harness_through_its_api_only() -> None:
    """``metahook.harness.api`` is the one surface an experiment imports from the harness."""
    found = []
    for path in sorted((SRC / ROOT / "experiments").glob("*.py")):
        module = _module_name(path, SRC)
        for name, line, _ in _imports(ast.parse(path.read_text(encoding="utf-8")), module,
                                      path.name == "__init__.py"):
            if name.startswith(f"{ROOT}.harness") and name != f"{ROOT}.harness.api":
                found.append(f"{module}:{line} imports {name}")
    assert not found, "import these from metahook.harness.api:\n" + "\n".join(found)
