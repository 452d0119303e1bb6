"""numba compilation options shared by the machines, SSA's stack and the environments they act in.

Hot loops are compiled without numba's reference counting (``_nrt=False``): nothing is allocated
inside them, and counting every array handed to an inlined function cost more than the work
itself (a trivial SMP step took ~150 ns with it and ~10 ns without, on the same machine).
Such functions may not allocate arrays; callers pass scratch space in.
"""

from __future__ import annotations

from typing import Any

NO_REFCOUNT: dict[str, Any] = {"_nrt": False}
