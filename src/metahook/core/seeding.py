"""Seeding helpers: named random streams for new code, and generators restored from checkpoints.

Randomness is explicit in metahook: a ``numpy.random.Generator`` is passed in, nothing reads
global random state. :func:`rng_for` gives each named part of a run its own stream, derived from
the run's seed with ``numpy.random.SeedSequence``: streams of different names are independent,
and adding a new named stream changes none of the others (which ad-hoc seed offsets such as
``seed + 1`` do not guarantee).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np


def _name_key(name: str) -> tuple[int, ...]:
    """``name`` as eight 32-bit words (its SHA-256), stable across processes and platforms."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, len(digest), 4))


def seed_sequence_for(name: str, seed: int) -> np.random.SeedSequence:
    """The ``SeedSequence`` of the stream called ``name`` in a run seeded with ``seed``."""
    if not name:
        raise ValueError("a random stream needs a name")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(int(seed), spawn_key=_name_key(name))


def rng_for(name: str, seed: int) -> np.random.Generator:
    """A ``numpy.random.Generator`` of its own for the part of a run called ``name``.

    For new code only. The experiments that existed before this helper keep deriving their seeds
    as they always have (``ctx.rng`` draws, fixed offsets): switching them to named streams would
    change their random numbers and therefore their results.
    """
    return np.random.Generator(np.random.PCG64(seed_sequence_for(name, seed)))


def restore_generator(rng: np.random.Generator, state: dict[str, Any]) -> None:
    """Set ``rng`` to a bit generator ``state`` read back from a checkpoint.

    A checkpoint's JSON may bring numbers back as floats or numpy scalars; the bit generator
    wants Python ints, so they are converted first.
    """
    out = dict(state)
    out["state"] = {k: int(v) for k, v in state["state"].items()}
    out["has_uint32"] = int(state["has_uint32"])
    out["uinteger"] = int(state["uinteger"])
    rng.bit_generator.state = out
