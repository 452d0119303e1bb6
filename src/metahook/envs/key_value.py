"""Key-value retrieval for capacity curves (Schlag, Irie & Schmidhuber, ICML 2021, sec. 6.1).

A vocabulary of ``S`` keys and ``S`` values.  A sequence writes key-value pairs; then a key is
queried and the model must return the value last paired with it.

``setting=1`` (capacity)
    Length ``S``: every key exactly once (a random order), each paired with a distinct value (a
    random permutation).  Retrieval must break once the number of stored pairs exceeds what the
    key feature space can keep apart (``d_dot``) under the sum rule.
``setting=2`` (update rule)
    Length ``2 S``: keys drawn *with* replacement, values drawn uniformly; the target of a query
    is the value of the key's *last* occurrence, so an association must be overwritten.

``make(batch, S, setting, rng)`` returns ``keys (batch, L)``, ``values (batch, L)``, and for every
key id ``0..S-1`` its target value id ``(batch, S)`` (``-1`` where the key does not occur), so a
model can be queried with one key (training) or with every key (evaluation).
"""

from __future__ import annotations

import numpy as np


def make(
    batch: int, S: int, setting: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if S < 1:
        raise ValueError("S must be >= 1")
    rows = np.arange(batch)[:, None]
    if setting == 1:
        keys = np.argsort(rng.random((batch, S)), axis=1)
        perm = np.argsort(rng.random((batch, S)), axis=1)  # value of key i is perm[i]
        values = perm[rows, keys]
        target = perm
    elif setting == 2:
        keys = rng.integers(0, S, size=(batch, 2 * S))
        values = rng.integers(0, S, size=(batch, 2 * S))
        target = np.full((batch, S), -1, dtype=np.int64)
        for b in range(batch):  # the last occurrence of a key wins
            seen = dict(zip(keys[b].tolist(), values[b].tolist(), strict=True))
            target[b, list(seen)] = list(seen.values())
    else:
        raise ValueError(f"unknown setting {setting}; valid: 1, 2")
    return keys.astype(np.int64), values.astype(np.int64), target.astype(np.int64)


def sample_queries(target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random present key per row of ``target``."""
    present = target >= 0
    scores = np.where(present, rng.random(target.shape), -1.0)
    return scores.argmax(axis=1)
