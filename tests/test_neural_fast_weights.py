"""Fast weight programmers: shapes, chunkwise == recurrent (values and gradients), gradcheck."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.neural import fast_weights as fw

D64 = torch.float64


def _inputs(B: int, H: int, T: int, dk: int, dv: int, seed: int, grad: bool = False):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, T, dk, generator=g, dtype=D64)
    k = F.normalize(torch.randn(B, H, T, dk, generator=g, dtype=D64), dim=-1)
    v = torch.randn(B, H, T, dv, generator=g, dtype=D64)
    beta = torch.rand(B, H, T, generator=g, dtype=D64)
    log_alpha = -0.3 * torch.rand(B, H, T, generator=g, dtype=D64)
    S0 = torch.randn(B, H, dk, dv, generator=g, dtype=D64)
    out = [q, k, v, beta, log_alpha, S0]
    if grad:
        for t in out:
            t.requires_grad_()
    return out


@pytest.mark.parametrize("rule", ["sum", "delta", "gated_delta"])
@pytest.mark.parametrize("T,C", [(1, 4), (16, 4), (37, 8), (64, 64), (70, 16)])
def test_chunkwise_equals_recurrent_values_and_gradients(rule: str, T: int, C: int) -> None:
    q, k, v, beta, la, S0 = _inputs(2, 3, T, 6, 5, seed=T * 7 + C, grad=True)
    kw = {"beta": beta, "log_alpha": la, "initial_state": S0}
    o1, s1 = fw.fast_weight_attention(rule, "recurrent", q, k, v, **kw)
    o2, s2 = fw.fast_weight_attention(rule, "chunkwise", q, k, v, chunk_size=C, **kw)
    torch.testing.assert_close(o1, o2, rtol=0, atol=1e-6)
    torch.testing.assert_close(s1, s2, rtol=0, atol=1e-6)
    g = torch.Generator().manual_seed(1)
    wo, ws = torch.randn(o1.shape, generator=g, dtype=D64), torch.randn(s1.shape, generator=g,
                                                                         dtype=D64)
    leaves = [q, k, v, beta, la, S0]
    g1 = torch.autograd.grad((o1 * wo).sum() + (s1 * ws).sum(), leaves, allow_unused=True)
    g2 = torch.autograd.grad((o2 * wo).sum() + (s2 * ws).sum(), leaves, allow_unused=True)
    for a, b in zip(g1, g2, strict=True):
        if a is None or b is None:
            assert a is None and b is None
            continue
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 40), C=st.sampled_from([1, 2, 3, 8, 16, 64]),
       dk=st.integers(1, 7), dv=st.integers(1, 5), seed=st.integers(0, 10_000),
       gated=st.booleans())
def test_chunkwise_matches_recurrent_on_random_shapes(
    T: int, C: int, dk: int, dv: int, seed: int, gated: bool
) -> None:
    q, k, v, beta, la, S0 = _inputs(1, 2, T, dk, dv, seed)
    la_ = la if gated else None
    o1, s1 = fw.delta_rule_recurrent(q, k, v, beta, S0, la_)
    o2, s2 = fw.delta_rule_chunkwise(q, k, v, beta, S0, la_, chunk_size=C)
    torch.testing.assert_close(o2, o1, rtol=0, atol=1e-6)
    torch.testing.assert_close(s2, s1, rtol=0, atol=1e-6)


def test_delta_rule_is_a_product_of_householder_matrices() -> None:
    """S_t = (I - beta k k^T) S_{t-1} + beta k v^T, written out with explicit matrices."""
    q, k, v, beta, _, S0 = _inputs(1, 1, 9, 4, 3, seed=5)
    S = S0[0, 0].clone()
    for t in range(9):
        kt, vt, bt = k[0, 0, t], v[0, 0, t], beta[0, 0, t]
        S = (torch.eye(4, dtype=D64) - bt * torch.outer(kt, kt)) @ S + bt * torch.outer(kt, vt)
    _, s = fw.delta_rule_chunkwise(q, k, v, beta, S0, chunk_size=4)
    torch.testing.assert_close(s[0, 0], S)


def test_delta_rule_stores_and_overwrites_an_association() -> None:
    """beta = 1, unit key: after writing v then v', reading the key returns v' exactly."""
    k = torch.zeros(1, 1, 2, 4, dtype=D64)
    k[..., 0] = 1.0
    v = torch.tensor([[[[1.0, 2.0], [-3.0, 5.0]]]], dtype=D64)
    beta = torch.ones(1, 1, 2, dtype=D64)
    o, _ = fw.delta_rule_chunkwise(k, k, v, beta, chunk_size=2)
    torch.testing.assert_close(o[0, 0, 1], v[0, 0, 1])
    o_sum, _ = fw.sum_rule_chunkwise(k, k, v)
    torch.testing.assert_close(o_sum[0, 0, 1], v[0, 0, 0] + v[0, 0, 1])  # the sum rule only adds


@pytest.mark.parametrize("rule", ["sum", "delta", "gated_delta"])
def test_gradcheck_chunkwise(rule: str) -> None:
    q, k, v, beta, la, S0 = _inputs(1, 1, 5, 3, 2, seed=3, grad=True)

    def f(q, k, v, beta, la, S0):
        o, s = fw.fast_weight_attention(rule, "chunkwise", q, k, v, beta, la, S0, chunk_size=2)
        return o, s

    assert torch.autograd.gradcheck(f, (q, k, v, beta, la, S0))


def test_gradcheck_srwm_free_modules() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 3, generator=g, dtype=D64, requires_grad=True)
    for module in (fw.FastWeightProgrammer1992(3, 2, d_slow=4),
                   fw.OuterProductRNN1993(3, 4, 2),
                   fw.BaFastWeights(3, 4, 2, inner_steps=2)):
        module = module.double()
        assert torch.autograd.gradcheck(lambda x, m=module: m(x)[0], (x,))


@pytest.mark.parametrize("feature", fw.FEATURE_MAPS)
def test_feature_maps(feature: str) -> None:
    x = torch.randn(3, 5, 8)
    phi = fw.feature_map(x, feature)
    assert phi.shape[-1] == fw.feature_dim(8, feature)
    if feature in ("elu_sum", "dpfp1", "dpfp2", "dpfp3", "softmax"):
        assert (phi >= 0).all()
        torch.testing.assert_close(phi.sum(-1), torch.ones(3, 5))
    with pytest.raises(ValueError, match="unknown feature map"):
        fw.feature_map(x, "nope")


def test_dpfp_definition() -> None:
    x = torch.tensor([1.0, -2.0])
    # r = [relu(x), relu(-x)] = [1, 0, 0, 2]; nu = 1: r * roll(r, 1) = [1*2, 0*1, 0*0, 2*0]
    torch.testing.assert_close(fw.dpfp(x, 1), torch.tensor([2.0, 0.0, 0.0, 0.0]))
    assert fw.dpfp(torch.randn(64), 3).shape == (384,)


@pytest.mark.parametrize("cls", [fw.LinearAttention, fw.DeltaNet, fw.GatedDeltaNet])
def test_layers_shapes_state_and_kernels_agree(cls: type) -> None:
    torch.manual_seed(0)
    layer = cls(6, 4, n_heads=2, d_head=5, chunk_size=4).double()
    x = torch.randn(3, 11, 6, dtype=D64)
    y, S = layer(x)
    assert y.shape == (3, 11, 4) and S.shape == (3, 2, layer.d_dot, 5)
    # state carries over: two halves equal the whole
    y1, S1 = layer(x[:, :6])
    y2, S2 = layer(x[:, 6:], S1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y)
    torch.testing.assert_close(S2, S)
    layer.kernel = "recurrent"
    y_rec, S_rec = layer(x)
    torch.testing.assert_close(y_rec, y)
    torch.testing.assert_close(S_rec, S)


def test_fwp1992_is_the_sum_rule_with_the_input_as_query() -> None:
    torch.manual_seed(1)
    m = fw.FastWeightProgrammer1992(3, 2, d_slow=5).double()
    x = torch.randn(2, 7, 3, dtype=D64)
    y, W = m(x)
    assert y.shape == (2, 7, 2) and W.shape == (2, 2, 3)
    frm, to = torch.tanh(m.slow(x)).split([3, 2], dim=-1)
    Wt = torch.zeros(2, 2, 3, dtype=D64)
    for t in range(7):
        Wt = Wt + to[:, t, :, None] * frm[:, t, None, :]
        torch.testing.assert_close(y[:, t], torch.einsum("boi,bi->bo", Wt, x[:, t]))
    m.kernel = "recurrent"
    torch.testing.assert_close(m(x)[0], y)
    y2, _ = m(x[:, 3:], m(x[:, :3])[1])
    torch.testing.assert_close(y2, y[:, 3:])


def test_recurrent_modules_shapes_and_state() -> None:
    torch.manual_seed(2)
    x = torch.randn(2, 6, 3, dtype=D64)
    for m in (fw.OuterProductRNN1993(3, 4, 5), fw.BaFastWeights(3, 4, 5, inner_steps=3)):
        m = m.double()
        y, state = m(x)
        assert y.shape == (2, 6, 5) and state[1].shape == (2, 4, 4)
        y1, s1 = m(x[:, :2])
        y2, _ = m(x[:, 2:], s1)
        torch.testing.assert_close(torch.cat([y1, y2], 1), y)


def test_ba_fast_memory_is_decaying_hebbian_sum() -> None:
    """A(t) = lam A(t-1) + eta h(t) h(t)^T: after 4 inputs, A = eta sum lam^(2-i) h_i h_i^T."""
    torch.manual_seed(3)
    m = fw.BaFastWeights(2, 3, 1, lam=0.9, eta=0.5).double()
    x = torch.randn(1, 4, 2, dtype=D64)
    _, (_, A4) = m(x)
    hs = [m(x[:, : i + 1])[1][0][0] for i in range(3)]  # hidden state after inputs 1, 2, 3
    expect = sum(0.5 * 0.9 ** (2 - i) * torch.outer(h, h) for i, h in enumerate(hs))
    torch.testing.assert_close(A4[0], expect)


def test_bad_arguments_raise() -> None:
    q, k, v, beta, _, _ = _inputs(1, 1, 4, 3, 2, seed=0)
    with pytest.raises(ValueError, match="unknown rule"):
        fw.fast_weight_attention("hebb", "recurrent", q, k, v, beta)
    with pytest.raises(ValueError, match="needs log_alpha"):
        fw.fast_weight_attention("gated_delta", "recurrent", q, k, v, beta)
    with pytest.raises(ValueError, match="shape"):
        fw.delta_rule_chunkwise(q, k[..., :2], v, beta)
    with pytest.raises(ValueError, match="chunk_size"):
        fw.delta_rule_chunkwise(q, k, v, beta, chunk_size=0)


def test_ba_attention_form_equals_matrix_form() -> None:
    torch.manual_seed(4)
    m = fw.BaFastWeights(3, 6, 2, lam=0.9, eta=0.7, inner_steps=2).double()
    x = torch.randn(2, 5, 3, dtype=D64)
    y_m, (h_m, A_m) = m(x, form="matrix")
    y_a, (h_a, A_a) = m(x, form="attention")
    torch.testing.assert_close(y_a, y_m)
    torch.testing.assert_close(A_a, A_m)
    x2 = torch.randn(2, 4, 3, dtype=D64)  # continuing from a state with a non-zero A
    y2_m, (_, A2_m) = m(x2, (h_m, A_m), form="matrix")
    y2_a, (_, A2_a) = m(x2, (h_a, A_a), form="attention")
    torch.testing.assert_close(y2_a, y2_m)
    torch.testing.assert_close(A2_a, A2_m)
    with pytest.raises(ValueError, match="unknown form"):
        m(x, form="dense")


def test_gated_chunkwise_is_stable_under_strong_decay_in_float32() -> None:
    """Decay ratios are formed from log-decays: exp(g_i - g_j) <= 1, nothing overflows."""
    q, k, v, beta, _, S0 = (t.float() for t in _inputs(1, 2, 200, 8, 4, seed=9))
    la = torch.full((1, 2, 200), -6.0)  # alpha = 0.0025 per step: exp(cumsum) underflows
    o1, s1 = fw.delta_rule_recurrent(q, k, v, beta, S0, la)
    o2, s2 = fw.delta_rule_chunkwise(q, k, v, beta, S0, la, chunk_size=64)
    assert torch.isfinite(o2).all() and torch.isfinite(s2).all()
    torch.testing.assert_close(o2, o1, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(s2, s1, rtol=1e-4, atol=1e-5)
