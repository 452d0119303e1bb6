"""Speed benchmarks (``metahook bench NAME``); importing this package registers them all.

Every module of this package is imported here, so adding a benchmark is adding its module.
"""

import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
