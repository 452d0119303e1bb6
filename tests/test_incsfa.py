"""IncSFA (Kompella, Luciw & Schmidhuber 2012) against batch SFA, the compiled update against its
numpy reference, and batch SFA's defining properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.neural.incsfa import (
    IncSFA,
    IncSFAParams,
    amnesic,
    batch_sfa,
    direction_cosine,
    incsfa_update,
    incsfa_update_ref,
    slowness,
    wiskott_toy,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_incsfa_learns_batch_sfas_features_on_wiskotts_toy_signal(seed: int) -> None:
    """The differential test: after 200 passes over one period of the toy signal, both slow
    features of IncSFA point where batch SFA's do (direction cosine >= 0.99), and the slowest is
    sin t."""
    x = wiskott_toy(1000)
    w_batch, delta, _mean = batch_sfa(x, 2)
    node = IncSFA(5, IncSFAParams(k=5, j=2, eta_m0=0.05, t_m=2e4, eta_m_min=1e-4),
                  np.random.default_rng(seed))
    for _ in range(200):
        node.update(x)
    d = node.directions()
    for j in range(2):
        assert direction_cosine(d[j], w_batch[j]) >= 0.99
    t = np.linspace(0.0, 2 * np.pi, 1000, endpoint=False)
    assert abs(np.corrcoef(node.outputs(x)[:, 0], np.sin(t))[0, 1]) > 0.99
    assert slowness(node.outputs(x)[:, 0])[0] < 2 * delta[0] + 1e-4


def test_batch_sfa_finds_the_driving_force_and_orders_by_slowness() -> None:
    x = wiskott_toy(2000)
    w, delta, mean = batch_sfa(x, 3)
    y = (x - mean) @ w.T
    t = np.linspace(0.0, 2 * np.pi, 2000, endpoint=False)
    assert abs(np.corrcoef(y[:, 0], np.sin(t))[0, 1]) > 0.999
    assert np.all(np.diff(delta) > 0)
    np.testing.assert_allclose(np.cov(y.T, bias=True), np.eye(3), atol=1e-8)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 8))
def test_batch_sfa_outputs_are_white_and_their_delta_is_reported(seed: int, dim: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.standard_normal((400, dim)), axis=0) * 0.1 + rng.standard_normal((400, dim))
    w, delta, mean = batch_sfa(x, 2)
    y = (x - mean) @ w.T
    np.testing.assert_allclose(np.cov(y.T, bias=True), np.eye(2), atol=1e-6)
    np.testing.assert_allclose(np.mean(np.diff(y, axis=0) ** 2, axis=0), delta, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 3])
def test_compiled_update_is_the_numpy_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = IncSFAParams(k=4, j=2, t1=5, t2=20, r=50.0, eta_m0=0.02, eta_m_min=1e-3, t_m=100.0)
    x = rng.standard_normal((300, 7)) @ rng.standard_normal((7, 7))
    states = []
    for fn in ("jit", "ref"):
        node = IncSFA(7, p, np.random.default_rng(seed))
        a = (node.mean, node.V, node.W, node.zprev, node.counters, p.vector())
        for block in np.array_split(x, 5):
            if fn == "jit":
                incsfa_update(np.ascontiguousarray(block), *a, np.zeros(7), np.zeros(4),
                              np.zeros(4), np.zeros(4))
            else:
                incsfa_update_ref(block, *a)
        states.append(node.state_dict())
    for key in states[0]:
        np.testing.assert_allclose(states[0][key], states[1][key], rtol=1e-7, atol=1e-9)


def test_amnesic_schedule_and_bad_parameters() -> None:
    assert amnesic(10, 20, 200, 2, 1000) == 0.0
    assert amnesic(110, 20, 200, 2, 1000) == pytest.approx(1.0)
    assert amnesic(1200, 20, 200, 2, 1000) == pytest.approx(3.0)
    for bad in (dict(j=6, k=5), dict(t1=300.0), dict(eta_m0=0.6), dict(eta_m_min=0.1)):
        with pytest.raises(ValueError, match="incsfa"):
            IncSFAParams(**bad).validate()  # type: ignore[arg-type]
    node = IncSFA(5, IncSFAParams(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="frames must be"):
        node.update(np.zeros((3, 4)))


def test_state_dict_round_trip_continues_identically() -> None:
    x = wiskott_toy(500)
    a = IncSFA(5, IncSFAParams(k=5, j=2), np.random.default_rng(0))
    a.update(x)
    b = IncSFA(5, IncSFAParams(k=5, j=2), np.random.default_rng(9))
    b.load_state_dict(a.state_dict())
    a.update(x)
    b.update(x)
    np.testing.assert_array_equal(a.directions(), b.directions())
