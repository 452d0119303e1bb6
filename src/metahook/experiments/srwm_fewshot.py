"""srwm-fewshot: the modern SRWM against DeltaNet and LSTM on few-shot digits (delayed label).

K. Irie, I. Schlag, R. Csordas, J. Schmidhuber, "A modern self-referential weight matrix that
learns to modify itself", ICML 2022.  The paper meta-trains sequence learners on Omniglot and
Mini-ImageNet, which cannot be downloaded here; we use scikit-learn's bundled digits instead
(:mod:`metahook.envs.digits_fewshot`): 5-way episodes, ``shots`` images per class, the label of
each image given one step later.  Meta-training uses classes 0-4 (optionally with a random
orthogonal projection of the pixels per episode, ``project``); meta-testing uses the unseen
classes 5-9.

Models (``models``), each ``in_proj -> layers x [core + residual, LayerNorm, feed-forward +
residual, LayerNorm] -> classifier`` with the same width ``d_model``:
``srwm`` (:class:`~metahook.neural.srwm.ModernSRWM`), ``deltanet``
(:class:`~metahook.neural.fast_weights.DeltaNet`, chunkwise), ``lstm`` (``torch.nn.LSTM``, no
extra blocks).  Reported: test accuracy per presentation (the k-th appearance of a class) and the
mean accuracy over all presentations after the first.  The first presentation is not pure chance:
a class not seen before must carry a label not used before, which a learner can infer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from metahook.envs import digits_fewshot as dfs
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
from metahook.neural.fast_weights import DeltaNet
from metahook.neural.srwm import ModernSRWM
from metahook.neural.training import Placement, Training, n_params, seeded
from metahook.references import refs

MODELS = ("srwm", "deltanet", "lstm")


@dataclass(frozen=True)
class Config(Placement):
    models: tuple[str, ...] = MODELS
    n_way: int = 5
    shots: int = 8
    d_model: int = 64
    n_heads: int = 4
    layers: int = 2
    steps: int = 5000
    batch: int = 32
    lr: float = 3e-3
    grad_clip: float = 1.0
    project: bool = False  # GPICL-style random orthogonal projection of meta-training images
    eval_every: int = 250
    test_episodes: int = 1000

    def validate(self) -> None:
        bad = [m for m in self.models if m not in MODELS]
        if bad or not self.models:
            raise ValueError(f"unknown models {bad}; valid: {', '.join(MODELS)}")
        if not 2 <= self.n_way <= 5:
            raise ValueError("n_way must be in 2..5")
        for name in ("shots", "d_model", "n_heads", "layers", "steps", "batch", "eval_every",
                     "test_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.shots < 2:
            raise ValueError("shots must be >= 2 (the first presentation is a guess)")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        super().validate()


class Block(nn.Module):
    def __init__(self, core: nn.Module, d: int) -> None:
        super().__init__()
        self.core, self.ln1, self.ln2 = core, nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Linear(4 * d, d))

    def forward(self, h: Tensor) -> Tensor:
        h = self.ln1(h + self.core(h)[0])
        return self.ln2(h + self.ff(h))


class Learner(nn.Module):
    def __init__(self, kind: str, cfg: Config) -> None:
        super().__init__()
        d, H = cfg.d_model, cfg.n_heads
        d_in = dfs.N_PIXELS + cfg.n_way
        self.kind = kind
        self.body: nn.Module
        if kind == "lstm":
            self.body = nn.LSTM(d_in, d, num_layers=cfg.layers, batch_first=True)
        else:
            blocks: list[nn.Module] = [nn.Linear(d_in, d)]
            for _ in range(cfg.layers):
                core: nn.Module = (ModernSRWM(d, d, n_heads=H, d_head=d // H) if kind == "srwm"
                                   else DeltaNet(d, d, n_heads=H, d_head=d // H, chunk_size=16))
                blocks.append(Block(core, d))
            self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(d, cfg.n_way)

    def forward(self, x: Tensor) -> Tensor:
        h = self.body(x)[0] if self.kind == "lstm" else self.body(x)
        return self.head(h)


def _evaluate(model: nn.Module, X: Tensor, Y: Tensor, P: Tensor, shots: int) -> np.ndarray:
    with torch.no_grad():
        correct = torch.cat([(model(X[i : i + 250]).argmax(-1) == Y[i : i + 250])
                             for i in range(0, len(X), 250)])
    return np.array([float(correct[k == P].float().mean()) for k in range(shots)])


def run(ctx: RunContext, cfg: Config) -> Result:
    device = cfg.place()
    test = dfs.episodes(cfg.test_episodes, cfg.n_way, cfg.shots, "test",
                        np.random.default_rng([ctx.seed, 5]))
    Xt, Yt, Pt = (torch.from_numpy(a).to(device) for a in test[:3])

    def make(j: int, _shared: dict[str, Any]) -> Training:
        model = seeded(functools.partial(Learner, cfg.models[j], cfg), ctx.seed * 100 + j)
        model.to(device)
        return Training(model, torch.optim.Adam(model.parameters(), lr=cfg.lr))

    def step(j: int, t: Training) -> bool:
        if t.step >= cfg.steps:
            return False
        kind = cfg.models[j]
        X, Y, _, _ = dfs.episodes(cfg.batch, cfg.n_way, cfg.shots, "train", ctx.rng,
                                  project=cfg.project)
        x, y = torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device)
        loss = F.cross_entropy(t.model(x).flatten(0, 1), y.flatten())
        t.update(loss, cfg.grad_clip)
        if t.step % cfg.eval_every == 0 or t.step == cfg.steps:
            acc = _evaluate(t.model, Xt, Yt, Pt, cfg.shots)
            t.curve.append([t.step, float(acc[1:].mean())])
            ctx.log(j * cfg.steps + t.step, model=kind, model_step=t.step, loss=loss.item(),
                    test_acc_after_first=float(acc[1:].mean()))
        ctx.progress(j * cfg.steps + t.step, len(cfg.models) * cfg.steps, f"{kind} {t.step}")
        return True

    def summarise(j: int, t: Training) -> dict[str, Any]:
        acc = _evaluate(t.model, Xt, Yt, Pt, cfg.shots)
        return {"acc_by_presentation": acc.tolist(), "curve": t.curve,
                "params": n_params(t.model), "wall_s": t.wall_s}

    done = run_jobs(ctx, list(cfg.models), make, step, summarise)
    metrics: dict[str, Any] = {}
    for kind, d in done.items():
        acc = np.array(d["acc_by_presentation"])
        metrics[f"acc_after_first_{kind}"] = round(float(acc[1:].mean()), 4)
        metrics[f"acc_first_{kind}"] = round(float(acc[0]), 4)
        metrics[f"acc_2nd_{kind}"] = round(float(acc[1]), 4)
        metrics[f"acc_last_{kind}"] = round(float(acc[-1]), 4)
        metrics[f"params_{kind}"] = d["params"]
        metrics[f"train_wall_s_{kind}"] = round(d["wall_s"], 1)
    metrics["train_episodes_per_model"] = cfg.steps * cfg.batch
    metrics["chance"] = 1.0 / cfg.n_way
    fig, ax = plots.figure()
    for kind, d in done.items():
        ax.plot(np.arange(1, cfg.shots + 1), d["acc_by_presentation"], "o-", label=kind)
    ax.axhline(1.0 / cfg.n_way, color="gray", ls=":", label="chance")
    plots.finish(fig, ax, ctx.plot_path("accuracy_by_presentation"),
                 xlabel="presentation of the class within the episode",
                 ylabel="test accuracy (unseen classes 5-9)",
                 title=f"{cfg.n_way}-way digits, label one step late")
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """DeltaNet and LSTM classify unseen classes above chance after the first presentation;
    smoke only for the SRWM (on its plateau at the quick scale's 300 steps)."""
    chance = m["chance"]
    acc = {k: m[f"acc_after_first_{k}"] for k in ("deltanet", "lstm", "srwm")}
    ok = acc["deltanet"] > chance + 0.03 and acc["lstm"] > chance + 0.03
    return ok, (f"accuracy after the first presentation: DeltaNet {acc['deltanet']:.3f}, LSTM "
                f"{acc['lstm']:.3f} > chance {chance:.2f} + 0.03; SRWM {acc['srwm']:.3f} smoke "
                f"only (its plateau lasts past 300 steps)")


EXPERIMENT = register(
    Experiment(
        name="srwm-fewshot",
        system="self-referential weight matrix (Irie et al. 2022)",
        paper="Irie, Schlag, Csordas & Schmidhuber, A modern self-referential weight matrix that "
              "learns to modify itself, ICML 2022",
        description="Modern SRWM vs DeltaNet vs LSTM, 5-way few-shot digits with delayed labels",
        config=Config,
        scales={
            "quick": Config(steps=300, shots=4, d_model=32, layers=1, eval_every=100,
                            test_episodes=300),
            "full": Config(steps=3000),
        },
        run=run,
        smoke=smoke,
        reference=refs("neural", "srwm-fewshot"),
    )
)
