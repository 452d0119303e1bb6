"""The procedural pen-stroke character set (metahook.envs.strokes)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.envs import strokes

N_CLASSES, N_SAMPLES = 40, 8


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    img = strokes.render(np.repeat(np.arange(N_CLASSES), N_SAMPLES),
                         np.tile(np.arange(N_SAMPLES), N_CLASSES))
    return img.reshape(N_CLASSES, N_SAMPLES, -1).astype(np.float64)


def test_shape_dtype_and_range(data: np.ndarray) -> None:
    img = strokes.render(np.arange(3), np.arange(3))
    assert img.shape == (3, 28, 28) and img.dtype == np.float32
    assert data.min() >= 0.0 and data.max() <= 1.0
    ink = data.sum(-1)
    assert (ink > 10).all()  # every drawing has ink (a short single stroke has about 15 pixels)
    img28 = data.reshape(-1, 28, 28)
    border = img28.sum() - img28[:, 2:-2, 2:-2].sum()
    assert border < 0.02 * img28.sum()  # characters stay inside the frame


def test_classes_are_distinct(data: np.ndarray) -> None:
    """Nearest-class-mean classification of jittered samples against the clean templates is far
    above chance (1/40), and samples are closer to their own class than to other classes."""
    clean = strokes.render(np.arange(N_CLASSES), 0, jitter=False).reshape(N_CLASSES, -1)
    x = data.reshape(N_CLASSES * N_SAMPLES, -1)
    d = ((x[:, None, :] - clean[None]) ** 2).sum(-1)
    acc = float((d.argmin(1) == np.repeat(np.arange(N_CLASSES), N_SAMPLES)).mean())
    assert acc > 0.6, acc
    within = np.mean([((data[c, :, None] - data[c, None]) ** 2).sum(-1).mean()
                      for c in range(N_CLASSES)])
    means = data.mean(1)
    between = ((means[:, None] - means[None]) ** 2).sum(-1)
    assert within < 0.75 * between[~np.eye(N_CLASSES, dtype=bool)].mean()


def test_samples_within_a_class_vary(data: np.ndarray) -> None:
    assert (data.var(axis=1).sum(-1) > 1.0).all()
    for c in range(N_CLASSES):
        assert len({d.tobytes() for d in data[c]}) == N_SAMPLES


def test_deterministic_and_seeded() -> None:
    a = strokes.render(np.array([5, 7, 1_000_003]), np.array([0, 3, 2]))
    b = strokes.render(np.array([5, 7, 1_000_003]), np.array([0, 3, 2]))
    assert np.array_equal(a, b)
    # the same pair rendered in another batch is the same image
    c = strokes.render(np.array([9, 7]), np.array([1, 3]))
    assert np.array_equal(a[1], c[1])
    other = strokes.render(np.array([5, 7, 1_000_003]), np.array([0, 3, 2]), seed=1)
    assert not np.array_equal(a, other)


def test_splits_are_disjoint() -> None:
    tr, te = strokes.split_ids("train", 3000), strokes.split_ids("test", 1000)
    assert len(tr) == 3000 and len(te) == 1000 and not set(tr.tolist()) & set(te.tolist())
    with pytest.raises(ValueError, match="unknown split"):
        strokes.split_ids("val", 10)
    b = strokes.bank("test", 6, 3)
    assert b.shape == (6, 3, 28, 28) and b.dtype == np.uint8
    assert np.array_equal(b[2, 1], np.round(strokes.render(np.array([1_000_002]), 1)[0] * 255))


def test_compiled_renderer_matches_numpy_reference() -> None:
    cls, smp = np.arange(0, 60, 3), np.arange(20) % 7
    fast = strokes.render(cls, smp)
    ref = strokes.render(cls, smp, reference=True)
    np.testing.assert_allclose(fast, ref, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6 - 1), st.integers(0, 10**4), st.integers(0, 2**31 - 1))
def test_renderer_values_in_unit_interval(c: int, s: int, seed: int) -> None:
    img = strokes.render(np.array([c]), np.array([s]), seed=seed)
    assert np.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0 and img.max() > 0.5
    _ctrl, kinds, n = strokes.class_spec(c, seed)
    assert 1 <= n <= strokes.MAX_STROKES and set(kinds.tolist()) <= {0, 1, 2, 3}


def test_episodes_follow_the_synchronous_label_protocol() -> None:
    b = strokes.bank("train", 30, 8)
    X, Y, S = strokes.episodes(50, 5, 2, 3, b, np.random.default_rng(0))
    assert X.shape == (50, 25, 28, 28) and X.dtype == np.float32 and 0 <= X.min() <= X.max() <= 1
    assert (S[:, :10] == Y[:, :10]).all() and (S[:, 10:] == -1).all()
    for e in range(50):
        assert sorted(np.bincount(Y[e, :10]).tolist()) == [2] * 5
        assert sorted(np.bincount(Y[e, 10:]).tolist()) == [3] * 5
        # no image of an episode appears twice (support and queries are different drawings)
        assert len({x.tobytes() for x in X[e]}) == 25
        # a query's class is the class of the support images with the same label
        for t in range(10, 25):
            same = [u for u in range(10) if Y[e, u] == Y[e, t]]
            others = [u for u in range(10) if Y[e, u] != Y[e, t]]
            assert same and others
    with pytest.raises(ValueError, match="shots"):
        strokes.episodes(1, 5, 6, 3, b, np.random.default_rng(0))
