"""The V and M stages the World Models experiments share (Ha & Schmidhuber 2018).

V: a convolutional VAE trained on the random rollouts' frames, then every frame encoded as
(μ, log σ²). M: an LSTM with a mixture-density head trained on windows of those latents and the
actions, its held-out loss measured before and after training. TakeCover's M also predicts
``done``; CarRacing's does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from metahook.harness.api import RunContext, plots
from metahook.neural import world_models as wm


def fit_v(ctx: RunContext, cfg: Any, frames: np.ndarray
          ) -> tuple[wm.ConvVAE, list[float], np.ndarray, np.ndarray]:
    """Train V (seeded from the run's seed) on ``frames``; log its loss per epoch; return it in
    eval mode with its loss curve and the frames' (μ, log σ²)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        vae = wm.ConvVAE(cfg.z_dim, tuple(cfg.vae_channels))
    curve = wm.train_vae(vae, frames, epochs=cfg.vae_epochs, batch=cfg.vae_batch, lr=cfg.vae_lr,
                         gen=ctx.torch_generator(1), max_frames=cfg.vae_frames)
    for e, loss in enumerate(curve):
        ctx.log(e + 1, stage="V", vae_loss=loss)
    vae.eval()
    mu, logvar = wm.encode_frames(vae, frames)
    return vae, curve, mu, logvar


def fit_m(ctx: RunContext, cfg: Any, eps: list[Any], a_dim: int, predict_done: bool
          ) -> tuple[wm.MDNRNN, list[Any], tuple[float, float], tuple[float, float]]:
    """Train M on all episodes but the last ``cfg.heldout`` fraction; return it with its training
    curve ((nll, done BCE) per epoch) and its held-out (nll, done BCE) before and after."""
    n_held = max(1, round(cfg.heldout * len(eps)))
    seq_train = wm.make_sequences(eps[:-n_held], cfg.m_seq_len)
    seq_held = wm.make_sequences(eps[-n_held:], cfg.m_seq_len)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed + 2)
        m = wm.MDNRNN(cfg.z_dim, a_dim, cfg.m_hidden, 5, predict_done=predict_done)

    def held_loss() -> tuple[float, float]:
        with torch.no_grad():
            _, nll, bce = wm.m_loss(m, seq_held, np.arange(len(seq_held.mask)), None,
                                    sample_z=False)
        return float(nll), float(bce)

    before = held_loss()
    curve = wm.train_m(m, seq_train, epochs=cfg.m_epochs, batch=cfg.m_batch, lr=cfg.m_lr,
                       gen=ctx.torch_generator(2),
                       done_pos_weight=getattr(cfg, "done_pos_weight", 1.0))
    return m, curve, before, held_loss()


def plot_dream_strip(ctx: RunContext, strip: dict[str, Any], vae: wm.ConvVAE, m: wm.MDNRNN,
                     actions: Callable[[np.ndarray], torch.Tensor]) -> None:
    """Real frames of the first rollout, V's reconstructions, and M's dream (τ = 1.0) from the
    strip's first frame under the rollout's own actions, decoded by V.  ``actions`` turns the
    stored actions into M's (T, action dim) inputs."""
    frames, steps = np.asarray(strip["frames"]), np.asarray(strip["steps"], int)
    acts = actions(np.asarray(strip["actions"]))
    gen = torch.Generator()
    gen.manual_seed(ctx.seed + 11)
    with torch.no_grad():
        x = wm.frames_to_tensor(frames)
        mu, _ = vae.encode(x)
        recon = vae.decode(mu)
        z = mu[:1]
        state = None
        dreamed = {int(steps[0]): z}
        for t in range(int(steps[0]), int(steps[-1])):
            a = acts[min(t, len(acts) - 1)][None, None]
            logpi, mmu, ls, _, state = m(z.unsqueeze(1), a, state)
            z = wm.mdn_sample(logpi[:, 0], mmu[:, 0], ls[:, 0], 1.0, gen)
            dreamed[t + 1] = z
        dream = vae.decode(torch.cat([dreamed[int(s)] for s in steps]))
    rows = [(name, imgs.permute(0, 2, 3, 1).numpy()) for name, imgs in
            (("real frame", x), ("V reconstruction", recon), ("M's dream (τ 1.0)", dream))]
    plots.image_grid(ctx.plot_path("frames"), rows, [f"t = {s}" for s in steps])
