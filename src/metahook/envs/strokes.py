"""Procedural pen-stroke characters: an Omniglot-like few-shot data set made in the project.

Omniglot (Lake et al. 2015: 1,623 hand-drawn characters from 50 alphabets, 20 drawings each;
background / evaluation split 964 / 659 classes, the few-shot literature's 1,200 / 423) cannot be
downloaded here, so we draw characters ourselves.  A *character class* is a random composition of
1-4 pen strokes; a *sample* of it is the same strokes drawn with a jittered hand.

Class ``c`` (drawn from ``default_rng([seed, c])``):

- ``n`` strokes, ``n`` uniform in 1..4; each stroke has four control points starting on a 5 x 5
  grid over ``[-0.6, 0.6]^2`` (after the first, a stroke starts at an end of an earlier stroke
  with probability 1/2, so strokes join as pen strokes do);
- each stroke is one of four primitives: a *line*, an *arc* (both inner points pushed to one side),
  an *S-curve* (pushed to opposite sides) -- drawn as cubic Bezier curves -- or a *corner*
  (a polyline through a third grid point).

Sample ``s`` of class ``c`` (drawn from ``default_rng([seed, c, s])``): every control point moves
by N(0, 0.04^2); the pen's half-width is uniform in [0.07, 0.11] (1 to 1.5 pixels); then an affine
map: rotation U(-0.2, 0.2) rad, scale U(0.85, 1.1), shear U(-0.15, 0.15), translation
U(-0.08, 0.08) per axis.  Each stroke becomes up to 9 straight segments; a pixel's ink is
``clip((w - d) / h + 1/2, 0, 1)`` with ``d`` its distance to the nearest segment, ``w`` the
half-width and ``h`` one pixel's width (a one-pixel antialiased edge).  Images are 28 x 28 in
[0, 1], as Omniglot is usually used.

Splits (disjoint by construction): meta-train classes have ids ``0 .. n-1``, meta-test classes
``TEST_BASE + 0 .. TEST_BASE + n-1``; any class count may be chosen for either.  Rendering is a
numba loop over images, pixels and segments (:func:`_draw` is its vectorised numpy reference);
:func:`bank` pre-renders a split once per process.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

SIZE = 28
N_PIXELS = SIZE * SIZE
MAX_STROKES = 4
SEGMENTS = 9  # straight segments per stroke
TEST_BASE = 1_000_000  # meta-test class ids start here: disjoint from any meta-train id
GRID = np.linspace(-0.6, 0.6, 5)
PRIMITIVES = ("line", "arc", "s-curve", "corner")

# per-sample jitter
POINT_NOISE = 0.04
HALF_WIDTH = (0.07, 0.11)
ROTATION = 0.2
SCALE = (0.85, 1.1)
SHEAR = 0.15
SHIFT = 0.08

_T = np.linspace(0.0, 1.0, SEGMENTS + 1)
_BEZIER = np.stack([(1 - _T) ** 3, 3 * (1 - _T) ** 2 * _T, 3 * (1 - _T) * _T**2, _T**3], axis=1)
_c = (np.arange(SIZE) + 0.5) / SIZE * 2.0 - 1.0
_PIXELS = np.stack(np.meshgrid(_c, -_c, indexing="xy"), axis=-1).reshape(-1, 2)  # (784, 2): x, y


def split_ids(split: str, n_classes: int) -> np.ndarray:
    """The class ids of a split: ``train`` -> ``0..n-1``; ``test`` -> ``TEST_BASE + 0..n-1``."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; valid: train, test")
    if not 1 <= n_classes < TEST_BASE:
        raise ValueError(f"n_classes must be in 1..{TEST_BASE - 1}")
    return np.arange(n_classes, dtype=np.int64) + (TEST_BASE if split == "test" else 0)


def class_spec(class_id: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """A class's strokes: control points ``(MAX_STROKES, 4, 2)``, primitive index per stroke
    ``(MAX_STROKES,)`` and the number of strokes used (unused rows repeat stroke 0)."""
    rng = np.random.default_rng([seed, int(class_id)])
    n = int(rng.integers(1, MAX_STROKES + 1))
    ctrl = np.zeros((MAX_STROKES, 4, 2))
    kinds = np.zeros(MAX_STROKES, dtype=np.int64)
    ends: list[np.ndarray] = []
    for i in range(n):
        if ends and rng.random() < 0.5:
            p0 = ends[int(rng.integers(len(ends)))].copy()
        else:
            p0 = rng.choice(GRID, size=2)
        p3 = rng.choice(GRID, size=2)
        while (p3 == p0).all():
            p3 = rng.choice(GRID, size=2)
        kind = int(rng.integers(len(PRIMITIVES)))
        d = p3 - p0
        normal = np.array([-d[1], d[0]])
        if kind == 3:  # corner: a polyline p0 -> m -> m -> p3 through a third grid point
            m = rng.choice(GRID, size=2)
            while (m == p0).all() or (m == p3).all():
                m = rng.choice(GRID, size=2)
            pts = [p0, m, m, p3]
        else:
            bend = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.6)
            b1, b2 = {0: (0.0, 0.0), 1: (bend, bend), 2: (bend, -bend)}[kind]
            pts = [p0, p0 + d / 3 + b1 * normal, p0 + 2 * d / 3 + b2 * normal, p3]
        ctrl[i] = np.array(pts)
        kinds[i] = kind
        ends += [p0, p3]
    ctrl[n:] = ctrl[0]
    kinds[n:] = kinds[0]
    return ctrl, kinds, n


def _segments(ctrl: np.ndarray, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Control points ``(..., S, 4, 2)`` -> segment starts and ends ``(..., S * SEGMENTS, 2)``."""
    curve = np.einsum("tk,...skd->...std", _BEZIER, ctrl)  # (..., S, SEGMENTS + 1, 2)
    # polylines (corners): 3 pieces through the 4 points, each split into 3 segments
    u = np.linspace(0.0, 3.0, SEGMENTS + 1)
    piece = np.minimum(u.astype(np.int64), 2)
    f = (u - piece)[:, None]
    poly = ctrl[..., piece, :] * (1 - f) + ctrl[..., piece + 1, :] * f
    pts = np.where((kinds == 3)[..., None, None], poly, curve)
    a, b = pts[..., :-1, :], pts[..., 1:, :]
    shape = (*pts.shape[:-3], -1, 2)
    return a.reshape(shape), b.reshape(shape)


def _draw(a: np.ndarray, b: np.ndarray, half_width: np.ndarray) -> np.ndarray:
    """Ink of segments ``a -> b`` ``(B, M, 2)`` with pen half-widths ``(B,)`` -> ``(B, 784)``."""
    ab = b - a  # (B, M, 2)
    ap = _PIXELS[None, :, None, :] - a[:, None, :, :]  # (B, P, M, 2)
    denom = np.maximum((ab * ab).sum(-1), 1e-12)[:, None, :]
    t = np.clip((ap * ab[:, None]).sum(-1) / denom, 0.0, 1.0)
    diff = ap - t[..., None] * ab[:, None]
    d = np.sqrt((diff * diff).sum(-1).min(-1))  # (B, P)
    return np.clip((half_width[:, None] - d) / (2.0 / SIZE) + 0.5, 0.0, 1.0)


@numba.njit(cache=True, nogil=True)
def _draw_numba(a: np.ndarray, b: np.ndarray, half_width: np.ndarray,
                pixels: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`_draw` as a loop over images, pixels and segments (the same arithmetic)."""
    n, m = a.shape[0], a.shape[1]
    p = pixels.shape[0]
    out = np.empty((n, p), dtype=np.float32)
    h = 2.0 / SIZE
    for i in range(n):
        for j in range(p):
            px, py = pixels[j, 0], pixels[j, 1]
            best = 1e30
            for k in range(m):
                ax, ay = a[i, k, 0], a[i, k, 1]
                abx, aby = b[i, k, 0] - ax, b[i, k, 1] - ay
                apx, apy = px - ax, py - ay
                t = (apx * abx + apy * aby) / max(abx * abx + aby * aby, 1e-12)
                t = min(max(t, 0.0), 1.0)
                dx, dy = apx - t * abx, apy - t * aby
                d2 = dx * dx + dy * dy
                if d2 < best:
                    best = d2
            v = (half_width[i] - np.sqrt(best)) / h + 0.5
            out[i, j] = min(max(v, 0.0), 1.0)
    return out


def render(class_ids: np.ndarray, sample_ids: np.ndarray | int, seed: int = 0,
           jitter: bool = True, reference: bool = False, chunk: int = 64) -> np.ndarray:
    """Images ``(n, 28, 28)`` float32 in [0, 1] of the given (class, sample) pairs.
    ``jitter=False`` draws the class's clean template (sample ids ignored); ``reference=True``
    draws with the vectorised numpy :func:`_draw` instead of the compiled loop."""
    cls = np.asarray(class_ids, dtype=np.int64).ravel()
    smp = np.broadcast_to(np.asarray(sample_ids, dtype=np.int64), cls.shape).ravel()
    specs: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}
    ctrl = np.empty((len(cls), MAX_STROKES, 4, 2))
    kinds = np.empty((len(cls), MAX_STROKES), dtype=np.int64)
    hw = np.full(len(cls), float(np.mean(HALF_WIDTH)))
    for i, (c, s) in enumerate(zip(cls.tolist(), smp.tolist(), strict=True)):
        if c not in specs:
            specs[c] = class_spec(c, seed)
        p, k, _ = specs[c]
        kinds[i] = k
        if not jitter:
            ctrl[i] = p
            continue
        rng = np.random.default_rng([seed, c, s, 1])
        noise, u = rng.standard_normal((MAX_STROKES, 4, 2)), rng.random(6)
        p = p + POINT_NOISE * noise
        hw[i] = HALF_WIDTH[0] + (HALF_WIDTH[1] - HALF_WIDTH[0]) * u[0]
        rot = ROTATION * (2 * u[1] - 1)
        scale = SCALE[0] + (SCALE[1] - SCALE[0]) * u[2]
        shear, shift = SHEAR * (2 * u[3] - 1), SHIFT * (2 * u[4:6] - 1)
        cr, sr = np.cos(rot), np.sin(rot)
        m = scale * np.array([[cr, cr * shear - sr], [sr, sr * shear + cr]])  # R @ shear
        ctrl[i] = p @ m.T + shift
    a, b = _segments(ctrl, kinds)
    if not reference:
        return _draw_numba(a, b, hw, _PIXELS).reshape(len(cls), SIZE, SIZE)
    out = np.empty((len(cls), N_PIXELS), dtype=np.float32)
    for lo in range(0, len(cls), chunk):
        out[lo : lo + chunk] = _draw(a[lo : lo + chunk], b[lo : lo + chunk], hw[lo : lo + chunk])
    return out.reshape(len(cls), SIZE, SIZE)


@lru_cache(maxsize=4)
def bank(split: str, n_classes: int, n_samples: int, seed: int = 0) -> np.ndarray:
    """All samples of a split, pre-rendered once per process: uint8 ``(n_classes, n_samples, 28,
    28)`` (ink x 255).  Sample ids are ``0..n_samples-1``."""
    if n_samples < 1:
        raise ValueError("n_samples must be >= 1")
    ids = split_ids(split, n_classes)
    img = render(np.repeat(ids, n_samples), np.tile(np.arange(n_samples), n_classes), seed)
    return np.round(img * 255).astype(np.uint8).reshape(n_classes, n_samples, SIZE, SIZE)


def episodes(n: int, n_way: int, shots: int, queries: int, images: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` N-way K-shot episodes in the synchronous-label setting (Irie et al. 2022, after
    Mishra et al. 2018): ``n_way`` classes drawn from ``images`` (a :func:`bank`), a random
    assignment of the labels ``0..n_way-1``, ``shots`` support samples per class in random order,
    then ``queries`` held-out samples per class in random order.

    Returns images ``(n, L, 28, 28)`` float32 in [0, 1], labels ``(n, L)`` and the label shown
    to the learner ``(n, L)`` (the label on support steps, ``-1`` on query steps);
    ``L = n_way * (shots + queries)``."""
    n_classes, n_samples = images.shape[:2]
    if not 2 <= n_way <= n_classes:
        raise ValueError(f"n_way must be in 2..{n_classes}")
    if shots < 1 or queries < 1 or shots + queries > n_samples:
        raise ValueError(f"need shots >= 1, queries >= 1, shots + queries <= {n_samples}")
    S, Q = n_way * shots, n_way * queries
    cls = np.empty((n, S + Q), dtype=np.int64)
    smp = np.empty((n, S + Q), dtype=np.int64)
    Y = np.empty((n, S + Q), dtype=np.int64)
    for e in range(n):
        chosen = rng.choice(n_classes, size=n_way, replace=False)
        draws = np.stack([rng.choice(n_samples, size=shots + queries, replace=False)
                          for _ in range(n_way)])  # (n_way, shots + queries)
        sup = rng.permutation(np.repeat(np.arange(n_way), shots))
        qry = rng.permutation(np.repeat(np.arange(n_way), queries))
        way = np.concatenate([sup, qry])
        k = np.concatenate([np.argsort(np.argsort(sup, kind="stable"), kind="stable") % shots,
                            shots + np.argsort(np.argsort(qry, kind="stable"),
                                               kind="stable") % queries])
        cls[e], smp[e] = chosen[way], draws[way, k]
        Y[e] = rng.permutation(n_way)[way]
    X = images[cls, smp].astype(np.float32) / 255.0
    shown = Y.copy()
    shown[:, S:] = -1
    return X, Y, shown


def plot_samples(path: str, n_classes: int = 8, n_samples: int = 10, split: str = "test",
                 seed: int = 0) -> None:
    """Save a grid of characters: one row per class (its clean template first, then samples)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = split_ids(split, n_classes)
    clean = render(ids, 0, seed, jitter=False)
    img = render(np.repeat(ids, n_samples), np.tile(np.arange(n_samples), n_classes), seed)
    img = img.reshape(n_classes, n_samples, SIZE, SIZE)
    fig, axes = plt.subplots(n_classes, n_samples + 1, figsize=(n_samples + 1, n_classes))
    for r in range(n_classes):
        for col in range(n_samples + 1):
            ax = axes[r, col]
            ax.imshow(clean[r] if col == 0 else img[r, col - 1], cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(f"class {int(ids[r])}", fontsize=6)
    axes[0, 0].set_title("template", fontsize=8)
    for col in range(1, n_samples + 1):
        axes[0, col].set_title(f"sample {col - 1}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
