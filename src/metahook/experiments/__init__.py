"""One module per reproduced experiment; ``load_all()`` registers them all.

Each module defines its config dataclass (every hyperparameter in one place), its ``quick`` and
``full`` scales, the paper's reference figures and a ``run(ctx, config) -> Result`` that reads
top to bottom. ``load_all`` imports every module of this package (``metahook run`` imports only the
one it needs, see :mod:`metahook.harness.lazy`), so adding an experiment is adding its module.
"""

import importlib
import pkgutil


def load_all() -> None:
    """Import every module of this package (each registers what it defines)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
