"""One module per reproduced experiment; importing this package registers them all.

Each module defines its config dataclass (every hyperparameter in one place), its ``quick`` and
``full`` scales, the paper's reference figures and a ``run(ctx, config) -> Result`` that reads
top to bottom. Every module of this package is imported here, so adding an experiment is adding
its module.
"""

import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
