"""Self-referential weight matrices: the update rules written out, shapes, state, gradcheck."""

from __future__ import annotations

import torch

from metahook.neural.srwm import SRWM1993, ModernSRWM, soft_address

D64 = torch.float64


def test_modern_srwm_one_step_by_hand() -> None:
    torch.manual_seed(0)
    m = ModernSRWM(3, 2, n_heads=1, d_head=4).double()
    x = torch.randn(1, 1, 3, dtype=D64)
    _, W1 = m(x)
    W = m.W0[0].detach().clone()
    xt = m.inp(x)[0, 0].detach()
    _, q, k, b = (W @ xt).split([4, 4, 4, 4])
    q, k, b = torch.softmax(q, 0), torch.softmax(k, 0), torch.sigmoid(b)
    lr = torch.cat([b[0].repeat(4), b[1].repeat(4), b[2].repeat(4), b[3].repeat(4)])
    W_new = W + torch.outer(lr * (W @ q - W @ k), k)
    torch.testing.assert_close(W1[0, 0], W_new)


def test_modern_srwm_rewrites_every_block_and_carries_state() -> None:
    torch.manual_seed(1)
    m = ModernSRWM(5, 3, n_heads=2, d_head=4).double()
    x = torch.randn(2, 9, 5, dtype=D64)
    y, W = m(x)
    assert y.shape == (2, 9, 3) and W.shape == (2, 2, 16, 4)
    change = (W - m.W0).abs().sum(-1)  # per row
    assert (change > 0).all()  # y, q, k and beta rows all modified
    y1, W1 = m(x[:, :4])
    y2, W2 = m(x[:, 4:], W1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y)
    torch.testing.assert_close(W2, W)


def test_modern_srwm_without_input_projection_reads_the_stream_itself() -> None:
    """The authors' few-shot layer: x split into the heads, no bias on the output; the first
    step's update is the rule applied to x itself."""
    torch.manual_seed(3)
    m = ModernSRWM(8, 8, n_heads=2, d_head=4, in_proj=False, out_bias=False).double()
    assert {n for n, _ in m.named_parameters()} == {"W0", "out.weight"}
    x = torch.randn(1, 1, 8, dtype=D64)
    _, W1 = m(x)
    for h in range(2):
        W, xt = m.W0[h].detach(), x[0, 0, 4 * h : 4 * h + 4]
        _, q, k, b = (W @ xt).split([4, 4, 4, 4])
        q, k, b = torch.softmax(q, 0), torch.softmax(k, 0), torch.sigmoid(b)
        lr = b.repeat_interleave(4)
        torch.testing.assert_close(W1[0, h], W + torch.outer(lr * (W @ q - W @ k), k))
    try:
        ModernSRWM(6, 8, n_heads=2, d_head=4, in_proj=False)
    except ValueError as e:
        assert "n_heads * d_head" in str(e)
    else:
        raise AssertionError("a width mismatch without projection must be refused")


def test_modern_srwm_gradcheck() -> None:
    torch.manual_seed(2)
    m = ModernSRWM(2, 2, n_heads=1, d_head=3).double()
    x = torch.randn(1, 3, 2, dtype=D64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: m(x)[0], (x,))


def test_soft_address_is_a_distribution_and_exact_at_binary_codes() -> None:
    a = 5
    adr = (torch.arange(2**a)[:, None] >> torch.arange(a) & 1).to(D64)
    p = torch.rand(3, a, dtype=D64)
    torch.testing.assert_close(soft_address(p, adr).sum(-1), torch.ones(3, dtype=D64))
    g = soft_address(adr[[6, 17]], adr)
    assert g.argmax(-1).tolist() == [6, 17]
    torch.testing.assert_close(g.max(-1).values, torch.ones(2, dtype=D64), atol=1e-4, rtol=0)


def test_srwm1993_units_addresses_and_self_modification() -> None:
    torch.manual_seed(3)
    m = SRWM1993(2, 1, n_hidden=3).double()
    assert 2**m.a >= m.n_conn  # every connection has its own address
    assert m.n_nonin == 3 + 1 + 2 * m.a + 1 and m.n_src == 2 + 1 + 2 + m.n_nonin
    x = torch.randn(2, 6, 2, dtype=D64)
    yp = torch.randn(2, 6, 1, dtype=D64)
    y, (W, _, _) = m(x, yp)
    assert y.shape == (2, 6, 1) and W.shape == (2, m.n_nonin, m.n_src)
    assert not torch.allclose(W, m.W0.expand_as(W))  # it changed its own weights
    y1, s1 = m(x[:, :2], yp[:, :2])
    y2, s2 = m(x[:, 2:], yp[:, 2:], s1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y)
    torch.testing.assert_close(s2[0], W)


def test_srwm1993_val_reads_the_analysed_weight() -> None:
    """With a (nearly) binary analysis address the val unit returns that weight's value."""
    m = SRWM1993(1, 1, n_hidden=2).double()
    W = torch.randn(1, m.n_nonin, m.n_src, dtype=D64)
    target = 7
    bits = (torch.tensor(target) >> torch.arange(m.a) & 1).to(D64)[None]
    g = soft_address(bits, m.adr.to(D64))
    torch.testing.assert_close((W.reshape(1, -1) * g).sum(-1), W.reshape(1, -1)[:, target],
                               atol=1e-4, rtol=0)


def test_srwm1993_gradcheck() -> None:
    torch.manual_seed(4)
    m = SRWM1993(1, 1, n_hidden=1).double()
    x = torch.randn(1, 3, 1, dtype=D64, requires_grad=True)
    yp = torch.randn(1, 3, 1, dtype=D64)
    assert torch.autograd.gradcheck(lambda x: m(x, yp)[0], (x,))


def test_srwm1993_can_be_trained_on_boolean_function_episodes() -> None:
    """BPTT through the self-modifying net works: the online error falls from its start."""
    import numpy as np

    from metahook.envs.functions import sample
    from metahook.neural.training import seeded

    m = seeded(lambda: SRWM1993(2, 1, n_hidden=8), 0)
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(100):
        xn, yn, _ = sample("boolean", 32, 12, rng)
        x, y = torch.from_numpy(xn), torch.from_numpy(yn)
        y_prev = torch.cat([torch.zeros(32, 1, 1), y[:, :-1]], dim=1)
        loss = ((m(x, y_prev)[0] - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.75 * losses[0]
