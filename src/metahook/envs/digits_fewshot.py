"""Few-shot classification episodes on scikit-learn's bundled 8x8 digits (offline).

Data: ``sklearn.datasets.load_digits`` (1797 images, 64 pixels in 0..16, 10 classes; shipped in
the wheel, no download).  Pixels are scaled to [0, 1] and standardised with the mean and standard
deviation over all images.  The classes are split: ``0..4`` for meta-training, ``5..9`` for
meta-testing, so test episodes contain only classes never seen in meta-training.

An episode (MANN-style *delayed label*, as in Santoro et al. 2016 and the sequential setting of
Irie et al. 2022): ``n_way`` classes of a split, a random permutation of their labels
``0..n_way-1``, ``shots`` images per class in random order.  At step t the learner sees the image
``x_t`` and the one-hot label of the previous step ``y_{t-1}`` (zeros at t = 0) and must output
``y_t``; accuracy is reported per presentation (the k-th time a class appears).

Meta-training episodes can be augmented GPICL-style (Kirsch et al. 2022): the image is multiplied
by a random orthogonal matrix drawn per episode (``project=True``), which creates unboundedly
many tasks from five classes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

N_PIXELS = 64
TRAIN_CLASSES = (0, 1, 2, 3, 4)
TEST_CLASSES = (5, 6, 7, 8, 9)


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.data.astype(np.float64) / 16.0
    x = (x - x.mean()) / x.std()
    return x.astype(np.float32), d.target.astype(np.int64)


def episodes(
    n: int, n_way: int, shots: int, split: str, rng: np.random.Generator, project: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` episodes: inputs ``(n, L, 64 + n_way)``, labels ``(n, L)``, presentation index
    ``(n, L)`` (0 for a class's first appearance), and the original digit classes ``(n, L)``;
    ``L = n_way * shots``."""
    classes = {"train": TRAIN_CLASSES, "test": TEST_CLASSES}.get(split)
    if classes is None:
        raise ValueError(f"unknown split {split!r}; valid: train, test")
    if not 1 <= n_way <= len(classes):
        raise ValueError(f"n_way must be in 1..{len(classes)}")
    x_all, y_all = _digits()
    by_class = {c: np.nonzero(y_all == c)[0] for c in classes}
    L = n_way * shots
    X = np.zeros((n, L, N_PIXELS + n_way), dtype=np.float32)
    Y = np.zeros((n, L), dtype=np.int64)
    P = np.zeros((n, L), dtype=np.int64)
    D = np.zeros((n, L), dtype=np.int64)
    for e in range(n):
        chosen = rng.choice(classes, size=n_way, replace=False)
        labels = rng.permutation(n_way)
        order = rng.permutation(np.repeat(np.arange(n_way), shots))
        counts = np.zeros(n_way, dtype=np.int64)
        images = np.empty((L, N_PIXELS), dtype=np.float32)
        for t, c in enumerate(order):
            idx = rng.choice(by_class[int(chosen[c])])
            images[t] = x_all[idx]
            Y[e, t] = labels[c]
            P[e, t] = counts[c]
            D[e, t] = chosen[c]
            counts[c] += 1
        if project:
            q, r = np.linalg.qr(rng.standard_normal((N_PIXELS, N_PIXELS)))
            images = images @ (q * np.sign(np.diag(r))).astype(np.float32)
        X[e, :, :N_PIXELS] = images
        X[e, 1:, N_PIXELS:][np.arange(L - 1), Y[e, :-1]] = 1.0
    return X, Y, P, D
