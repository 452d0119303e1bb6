"""Keep numba's on-disk cache of the OOPS machine consistent with its sources.

numba's ``cache=True`` checks only the source file of the function it loads, not the functions
it calls and inlines. The interpreter's entry points (``search_core`` in :mod:`metahook.search.
levin`, ``run_core`` in :mod:`metahook.search.direct`) inline the whole machine, so editing
:mod:`.vm` alone would leave them running stale machine code. :func:`ensure_fresh` fingerprints
every source the compiled code depends on and, when the fingerprint changed since the cache was
written, removes the cached entries of those modules (only theirs) so numba recompiles them.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_PKG = Path(__file__).resolve().parents[2]  # src/metahook
SOURCES = (
    "machines/forth/layout.py", "machines/forth/instructions.py", "machines/forth/pointers.py",
    "machines/forth/vm.py", "envs/oops_tasks.py", "search/levin.py", "search/direct.py",
)
STAMP = "metahook-oops-machine.sha256"
_checked: set[str] = set()


def fingerprint() -> str:
    h = hashlib.sha256()
    for rel in SOURCES:
        h.update(rel.encode())
        h.update((_PKG / rel).read_bytes())
    return h.hexdigest()


def ensure_fresh(dispatchers: Iterable[Any], also: Iterable[Path] | None = None) -> None:
    """Drop the cache files of the machine's modules in these dispatchers' cache folders (and
    in ``also``: by default the in-tree caches of every source, whose compiled constants may be
    stale too) when the sources changed since they were written (once per process and folder).
    """
    fp = fingerprint()
    stems = tuple(Path(rel).stem + "." for rel in SOURCES)
    for d in dispatchers:
        cache = getattr(d, "_cache", None)
        path = getattr(cache, "_cache_path", None)
        if path is None or path in _checked:
            continue
        _checked.add(path)
        folder = Path(path)
        stamp = folder / STAMP
        with contextlib.suppress(OSError):
            if stamp.read_text().strip() == fp:
                continue
        with contextlib.suppress(OSError):
            extra = ({(_PKG / rel).parent / "__pycache__" for rel in SOURCES} if also is None
                     else set(also))
            folders = {folder} | extra
            for f in folders:
                for entry in f.glob("*.nb[ic]"):
                    if entry.name.startswith(stems):
                        entry.unlink(missing_ok=True)
            folder.mkdir(parents=True, exist_ok=True)
            stamp.write_text(fp + "\n")
