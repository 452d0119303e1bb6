"""Speed benchmarks (``metahook bench NAME``); ``load_all()`` registers them all.

``load_all`` imports every module of this package (``metahook bench`` imports only the
one it needs, see :mod:`metahook.harness.lazy`), so adding a benchmark is adding its module.
"""

import importlib
import pkgutil


def load_all() -> None:
    """Import every module of this package (each registers what it defines)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
