"""Restoring checkpointed arrays: the one-line pattern every ``load_state_dict`` repeats.

A ``state_dict`` holds numpy arrays (written to ``.npz`` by the harness, read back as arrays of
the saved dtype, or as lists in hand-made states); :func:`restore_arrays` sets each named attribute
from the state with the dtype the object computes with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def restore_arrays(obj: object, state: Mapping[str, Any], dtypes: Mapping[str, Any]) -> None:
    """``obj.<name> = np.asarray(state[name], dtype)`` for every ``name: dtype`` of ``dtypes``."""
    for name, dtype in dtypes.items():
        setattr(obj, name, np.asarray(state[name], dtype=dtype))


__all__ = ["restore_arrays"]
