"""Synthetic 20 x 20 video streams of graded difficulty, and a pure-noise stream.

The observation streams of the ``misfa-streams`` experiment, after the synthetic streams of
Kompella et al., "Curious Dr. MISFA" (Frontiers in Neurorobotics 7:9, 2013), which differ in how
hard their slow features are to learn. Ours (the paper's generator is not reproduced):

- a *learnable* stream ``k`` shows, in frame ``t``, the sum of fixed 20 x 20 patterns ``P_0 ...
  P_F`` (smooth random images of unit norm, drawn once per stream) weighted by latent signals,
  plus i.i.d. pixel noise: ``frame(t) = a_k sin(2 pi t / period) P_0 + sum_f b f_f(t) P_f +
  sigma n(t)``; ``f_f(t)`` and ``n(t)`` are i.i.d. standard normal per frame. The one slow
  latent is the sinusoid; the smaller its amplitude ``a_k`` against the noise, the closer its
  whitened direction's slowness comes to noise's and the harder it is to find: difficulty is set
  by ``a_k``;
- the *noise* stream is i.i.d. normal pixels of standard deviation ``noise_std``: it has no
  slow feature at all.

Each stream keeps its own clock: time advances only while the stream is watched. A stream's
difficulty is measured by :func:`omega` (batch SFA on a long sample; 0 = perfectly slow, 1 =
as fast as white noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SIDE = 20
DIM = SIDE * SIDE


@dataclass(frozen=True)
class StreamSpec:
    """One stream: ``amplitude`` of the slow sinusoid (0 = the pure-noise stream)."""

    amplitude: float
    period: float = 200.0  # frames per period of the slow latent
    fast: int = 3  # number of fast latents F
    fast_std: float = 0.5  # b
    noise_std: float = 0.1  # sigma (and the noise stream's pixel std)


def smooth_patterns(n: int, rng: np.random.Generator, width: float = 3.0) -> np.ndarray:
    """``n`` random smooth 20 x 20 images (sums of a few Gaussian blobs with random signs),
    each flattened to 400 values and scaled to unit norm."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    out = np.zeros((n, DIM))
    for i in range(n):
        img = np.zeros((SIDE, SIDE))
        for _ in range(3):
            cy, cx = rng.uniform(0, SIDE, 2)
            img += rng.choice([-1.0, 1.0]) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2)
                                                    / (2 * width**2))
        out[i] = img.ravel() / np.linalg.norm(img)
    return out


class VideoStream:
    """An endless stream of 20 x 20 frames (flattened): :meth:`chunk` returns the next ``n``."""

    def __init__(self, spec: StreamSpec, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.patterns = smooth_patterns(1 + spec.fast, rng) if spec.amplitude > 0 else None
        self.t = 0

    @property
    def is_noise(self) -> bool:
        return self.spec.amplitude <= 0

    def chunk(self, n: int) -> np.ndarray:
        s = self.spec
        noise = s.noise_std * self.rng.standard_normal((n, DIM))
        if self.patterns is None:
            self.t += n
            return noise
        t = self.t + np.arange(n)
        lat = np.empty((n, 1 + s.fast))
        lat[:, 0] = s.amplitude * np.sin(2 * np.pi * t / s.period)
        lat[:, 1:] = s.fast_std * self.rng.standard_normal((n, s.fast))
        self.t += n
        return lat @ self.patterns + noise

    def slow_latent(self, t: np.ndarray) -> np.ndarray:
        """The slow latent at the stream times ``t`` (zeros for the noise stream)."""
        if self.patterns is None:
            return np.zeros(len(t))
        return np.sin(2 * np.pi * np.asarray(t) / self.spec.period)

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.t = int(st["t"])
        self.rng.bit_generator.state = st["rng"]


def omega(stream_spec: StreamSpec, rng: np.random.Generator, frames: int = 20_000) -> float:
    """The stream's difficulty in [0, 1]: batch SFA's slowest Delta on ``frames`` frames of a
    fresh copy of the stream, over white noise's Delta (2), capped at 1."""
    from scipy.linalg import eigh

    x = VideoStream(stream_spec, rng).chunk(frames)
    x = x - x.mean(axis=0)
    lam, vec = eigh(x.T @ x / len(x))
    keep = lam > 1e-9 * lam.max()
    z = x @ (vec[:, keep] / np.sqrt(lam[keep]))
    zd = np.diff(z, axis=0)
    d = eigh(zd.T @ zd / len(zd), eigvals_only=True, subset_by_index=[0, 0])[0]
    return float(min(1.0, d / 2.0))
