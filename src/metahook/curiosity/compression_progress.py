"""Compression progress: reward the bits the world model's learning saved on the history.

Schmidhuber, "Driven by compression progress: a simple principle explains essential aspects of
subjective beauty, novelty, surprise, interestingness, attention, curiosity, creativity, art,
science, music, jokes", arXiv:0812.4360 (2008/2009), and "Formal theory of creativity, fun, and
intrinsic motivation (1990-2010)", IEEE Trans. Autonomous Mental Development 2(3), 2010: the
agent stores its whole history ``h``; an adaptive compressor (here the predictor of
:class:`.neural.NeuralWorldModel`, whose code length of an experience is what an arithmetic coder
driven by it would need) improves from time to time; the intrinsic reward is the *compression
progress*, the number of bits the improvement saved on the history,

    r_int ∝ C(h, p_old) - C(h, p_new).

Data that are already compressible gain nothing (they were coded well before), and so does noise
(no improvement of the compressor codes it better); only data with regularities the compressor
is still learning pay.

Our form: the compressor improves once per batch of new experiences (one
:meth:`~.neural.NeuralWorldModel.update`, which trains on the new batch mixed with the stored
history), and each new experience is paid its own term of ``C(h, p_old) - C(h, p_new)``: its
code length under the model before the update minus after, ``model.before_bits -
model.code_length(...)``. :func:`history_progress` gives the whole sum over the stored history.
Because the model learns from the history and not from the new experience alone, an experience
of pure noise is coded hardly better after the update than before (a test: about zero on a
stream of noise). In the noisy-TV room it still pays a little at the TV, where what can be
learned (the moves from the TV's cells, behind 16 random input bits) is learned slowly
(docs/curiosity.md).

:func:`zlib_code_length` is a second, non-neural compressor for the same principle: the bits
``zlib`` (level 9) needs for a byte string; ``zlib_progress`` is how many bits fewer the history
takes than its parts coded separately would, a compressor "improving" by having seen the past.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from metahook.curiosity.base import Stateless


class CompressionProgress(Stateless):
    """Reward = each new experience's code length under the model before minus after its update
    (bits)."""

    name = "compression_progress"

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> np.ndarray:
        after = model.code_length(s, a, s_next)
        return np.asarray((model.before_bits - after).numpy(), dtype=np.float64)


def history_progress(model: Any, before_state: dict[str, Any]) -> float:
    """``C(h, p_old) - C(h, p_new)`` (bits) over the model's stored history, ``p_old`` being the
    network weights ``before_state`` (a ``model.net.state_dict()`` taken before the update)."""
    s, a, s2 = model.history()
    after = float(model.code_length(s, a, s2).sum())
    now = {k: v.clone() for k, v in model.net.state_dict().items()}
    model.net.load_state_dict(before_state)
    try:
        before = float(model.code_length(s, a, s2).sum())
    finally:
        model.net.load_state_dict(now)
    return before - after


def zlib_code_length(data: bytes) -> int:
    """Bits that ``zlib`` at level 9 needs for ``data``."""
    return 8 * len(zlib.compress(data, 9))


def zlib_progress(history: bytes, new: bytes) -> int:
    """Bits saved by coding ``new`` after ``history`` rather than on its own: how much the
    history taught the compressor about the new data."""
    return zlib_code_length(new) - (zlib_code_length(history + new) - zlib_code_length(history))
