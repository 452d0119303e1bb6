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

``dataset=strokes`` runs the paper's own protocol on procedural Omniglot-like characters
(:mod:`metahook.envs.strokes`; thousands of classes, disjoint meta-train and meta-test classes):
N-way K-shot in the *synchronous-label* setting (Irie et al. 2022, Table 1, after Mishra et al.
2018): the ``n_way * k`` support images, each with its label, then ``queries`` unlabelled images
per class; the loss and the accuracy are on the queries.  One learner is trained per model and
per ``k`` in ``k_shots`` (the paper trains 1-shot and 5-shot separately).  Each image passes a
conv-4 encoder (4 x [3x3 conv, BatchNorm, ReLU, 2x2 max-pool], 28 -> 14 -> 7 -> 3 -> 1, as the
paper's Conv-4 backbone) whose features, with the one-hot label (zeros on queries), feed the
sequence model; the encoder is trained end to end with it.  Reported: test accuracy on queries
of 5-way episodes drawn from the unseen classes, per model and ``k``.
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
from metahook.envs import strokes
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
from metahook.neural.fast_weights import DeltaNet
from metahook.neural.srwm import ModernSRWM
from metahook.neural.training import Placement, Training, n_params, seeded
from metahook.references import refs

MODELS = ("srwm", "deltanet", "lstm")
DATASETS = ("digits", "strokes")
BLOCKS = ("post_ln", "paper")


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
    # dataset=strokes (the paper's synchronous-label N-way K-shot protocol); ignored for digits
    dataset: str = "digits"
    k_shots: tuple[int, ...] = (1, 5)
    queries: int = 1  # unlabelled query images per class after the support set
    train_classes: int = 3000
    test_classes: int = 1000
    samples: int = 20  # drawings per class (Omniglot has 20)
    conv_channels: int = 32
    data_seed: int = 0  # the character set itself (fixed across run seeds)
    # how the fast-weight layers sit in their blocks: "post_ln" (our first arrangement: the SRWM
    # with its own input projection, h <- LN(h + layer(h)), h <- LN(h + FF(h))) or "paper" (the
    # authors' few-shot code: the SRWM without input projection, h <- LN(h) + layer(h); DeltaNet
    # h <- h + layer(LN(h)); FF h <- h + FF(LN(h)))
    block: str = "post_ln"

    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; valid: {', '.join(DATASETS)}")
        if self.dataset == "strokes":
            if not self.k_shots or min(self.k_shots) < 1 or len(set(self.k_shots)) < len(
                    self.k_shots):
                raise ValueError("k_shots must be distinct integers >= 1")
            for name in ("queries", "conv_channels"):
                if getattr(self, name) < 1:
                    raise ValueError(f"{name} must be >= 1")
            if max(self.k_shots) + self.queries > self.samples:
                raise ValueError("max(k_shots) + queries must be <= samples")
            if min(self.train_classes, self.test_classes) < self.n_way:
                raise ValueError("train_classes and test_classes must be >= n_way")
        if self.block not in BLOCKS:
            raise ValueError(f"unknown block {self.block!r}; valid: {', '.join(BLOCKS)}")
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
    """A fast-weight layer and a feed-forward layer (4 d), each with a residual and a LayerNorm
    placed as ``arrangement`` says (see ``Config.block``): ``post_ln``, ``paper_srwm`` (the
    layer reads the raw stream, its output is added to the normalised stream) or
    ``paper_delta`` (pre-LN)."""

    def __init__(self, core: nn.Module, d: int, arrangement: str = "post_ln") -> None:
        super().__init__()
        self.core, self.ln1, self.ln2 = core, nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Linear(4 * d, d))
        self.arrangement = arrangement

    def forward(self, h: Tensor) -> Tensor:
        if self.arrangement == "post_ln":
            h = self.ln1(h + self.core(h)[0])
            return self.ln2(h + self.ff(h))
        if self.arrangement == "paper_srwm":
            h = self.ln1(h) + self.core(h)[0]
        else:
            h = h + self.core(self.ln1(h))[0]
        return h + self.ff(self.ln2(h))


class Learner(nn.Module):
    def __init__(self, kind: str, cfg: Config, d_in: int | None = None) -> None:
        super().__init__()
        d, H = cfg.d_model, cfg.n_heads
        d_in = dfs.N_PIXELS + cfg.n_way if d_in is None else d_in
        self.kind = kind
        self.body: nn.Module
        if kind == "lstm":
            self.body = nn.LSTM(d_in, d, num_layers=cfg.layers, batch_first=True)
        else:
            blocks: list[nn.Module] = [nn.Linear(d_in, d)]
            paper = cfg.block == "paper"
            for _ in range(cfg.layers):
                core: nn.Module = (ModernSRWM(d, d, n_heads=H, d_head=d // H, in_proj=not paper,
                                              out_bias=not paper) if kind == "srwm"
                                   else DeltaNet(d, d, n_heads=H, d_head=d // H, chunk_size=16))
                arrangement = ("post_ln" if not paper
                               else "paper_srwm" if kind == "srwm" else "paper_delta")
                blocks.append(Block(core, d, arrangement))
            self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(d, cfg.n_way)

    def forward(self, x: Tensor) -> Tensor:
        h = self.body(x)[0] if self.kind == "lstm" else self.body(x)
        return self.head(h)


def conv4(channels: int) -> nn.Sequential:
    """The Conv-4 backbone (4 x [3x3 conv, BatchNorm, ReLU, 2x2 max-pool]): 28x28 -> ``channels``
    features."""
    layers: list[nn.Module] = []
    for i in range(4):
        layers += [nn.Conv2d(1 if i == 0 else channels, channels, 3, padding=1),
                   nn.BatchNorm2d(channels), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*layers, nn.Flatten())


class ImageLearner(nn.Module):
    """Conv-4 features of each image plus its shown label (one-hot; zeros for a query) ->
    the sequence learner of ``kind`` -> ``n_way`` logits per step."""

    def __init__(self, kind: str, cfg: Config) -> None:
        super().__init__()
        self.n_way, self.channels = cfg.n_way, cfg.conv_channels
        self.encoder = conv4(cfg.conv_channels)
        self.seq = Learner(kind, cfg, d_in=cfg.conv_channels + cfg.n_way)

    def forward(self, images: Tensor, shown: Tensor) -> Tensor:
        B, L = shown.shape
        feats = self.encoder(images.reshape(B * L, 1, strokes.SIZE, strokes.SIZE))
        labels = F.one_hot(shown.clamp(min=0), self.n_way).to(feats.dtype)
        labels = labels * (shown >= 0).unsqueeze(-1).to(feats.dtype)
        return self.seq(torch.cat([feats.view(B, L, self.channels), labels], dim=-1))


def _evaluate(model: nn.Module, X: Tensor, Y: Tensor, P: Tensor, shots: int) -> np.ndarray:
    with torch.no_grad():
        correct = torch.cat([(model(X[i : i + 250]).argmax(-1) == Y[i : i + 250])
                             for i in range(0, len(X), 250)])
    return np.array([float(correct[k == P].float().mean()) for k in range(shots)])


def run(ctx: RunContext, cfg: Config) -> Result:
    if cfg.dataset == "strokes":
        return run_strokes(ctx, cfg)
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


def _evaluate_queries(model: nn.Module, X: Tensor, Y: Tensor, S: Tensor, n_support: int) -> float:
    """Accuracy on the query steps (those after ``n_support``) of the episodes ``X``."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        correct = torch.cat([(model(X[i : i + 250], S[i : i + 250])[:, n_support:].argmax(-1)
                              == Y[i : i + 250, n_support:]).flatten()
                             for i in range(0, len(X), 250)])
    model.train(was_training)
    return float(correct.float().mean())


def run_strokes(ctx: RunContext, cfg: Config) -> Result:
    """The paper's N-way K-shot protocol on procedural characters: one learner per (model, k)."""
    device = cfg.place()
    train_bank = strokes.bank("train", cfg.train_classes, cfg.samples, cfg.data_seed)
    test_bank = strokes.bank("test", cfg.test_classes, cfg.samples, cfg.data_seed)
    jobs = [(kind, k) for k in cfg.k_shots for kind in cfg.models]
    keys = [f"{kind}_{k}shot" for kind, k in jobs]
    tests: dict[int, tuple[Tensor, Tensor, Tensor]] = {}
    for k in cfg.k_shots:
        X, Y, S = strokes.episodes(cfg.test_episodes, cfg.n_way, k, cfg.queries, test_bank,
                                   np.random.default_rng([ctx.seed, 6, k]))
        tests[k] = (torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device),
                    torch.from_numpy(S).to(device))

    def make(j: int, _shared: dict[str, Any]) -> Training:
        model = seeded(functools.partial(ImageLearner, jobs[j][0], cfg), ctx.seed * 100 + j)
        model.to(device)
        return Training(model, torch.optim.Adam(model.parameters(), lr=cfg.lr))

    def step(j: int, t: Training) -> bool:
        if t.step >= cfg.steps:
            return False
        kind, k = jobs[j]
        ns = cfg.n_way * k
        X, Y, S = strokes.episodes(cfg.batch, cfg.n_way, k, cfg.queries, train_bank, ctx.rng)
        x, y, s = (torch.from_numpy(a).to(device) for a in (X, Y, S))
        loss = F.cross_entropy(t.model(x, s)[:, ns:].flatten(0, 1), y[:, ns:].flatten())
        t.update(loss, cfg.grad_clip)
        if t.step % cfg.eval_every == 0 or t.step == cfg.steps:
            acc = _evaluate_queries(t.model, *tests[k], ns)
            t.curve.append([t.step, acc])
            ctx.log(j * cfg.steps + t.step, model=kind, k_shot=k, model_step=t.step,
                    loss=loss.item(), test_acc=acc)
        ctx.progress(j * cfg.steps + t.step, len(jobs) * cfg.steps, f"{keys[j]} {t.step}")
        return True

    def summarise(j: int, t: Training) -> dict[str, Any]:
        k = jobs[j][1]
        return {"acc": _evaluate_queries(t.model, *tests[k], cfg.n_way * k), "curve": t.curve,
                "params": n_params(t.model), "wall_s": t.wall_s}

    done = run_jobs(ctx, keys, make, step, summarise)
    metrics: dict[str, Any] = {}
    for key, d in done.items():
        metrics[f"acc_{key}"] = round(float(d["acc"]), 4)
        metrics[f"params_{key}"] = d["params"]
        metrics[f"train_wall_s_{key}"] = round(d["wall_s"], 1)
    metrics["train_episodes_per_model"] = cfg.steps * cfg.batch
    metrics["test_answers"] = cfg.test_episodes * cfg.n_way * cfg.queries
    metrics["chance"] = 1.0 / cfg.n_way
    fig, ax = plots.figure()
    for key, d in done.items():
        c = np.array(d["curve"])
        ax.plot(c[:, 0], c[:, 1], "o-" if key.endswith("_1shot") else "s--", label=key)
    ax.axhline(1.0 / cfg.n_way, color="gray", ls=":", label="chance")
    plots.finish(fig, ax, ctx.plot_path("test_accuracy"), xlabel="training step",
                 ylabel="query accuracy (unseen classes)",
                 title=f"{cfg.n_way}-way K-shot procedural characters")
    strokes.plot_samples(str(ctx.plot_path("samples")), seed=cfg.data_seed)
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """DeltaNet and LSTM classify unseen classes above chance after the first presentation;
    smoke only for the SRWM (on its plateau at the quick scale's 300 steps)."""
    chance = m["chance"]
    if "acc_after_first_deltanet" not in m:  # dataset=strokes
        return smoke_strokes(m)
    acc = {k: m[f"acc_after_first_{k}"] for k in ("deltanet", "lstm", "srwm")}
    ok = acc["deltanet"] > chance + 0.03 and acc["lstm"] > chance + 0.03
    return ok, (f"accuracy after the first presentation: DeltaNet {acc['deltanet']:.3f}, LSTM "
                f"{acc['lstm']:.3f} > chance {chance:.2f} + 0.03; SRWM {acc['srwm']:.3f} smoke "
                f"only (its plateau lasts past 300 steps)")


STROKES_MARGIN = 0.15


def smoke_strokes(m: dict[str, Any]) -> tuple[bool, str]:
    """Procedural characters: the best model's 5-way 1-shot query accuracy on unseen classes is
    above chance by ``STROKES_MARGIN``."""
    chance = m["chance"]
    acc = {k: m[f"acc_{k}_1shot"] for k in MODELS if f"acc_{k}_1shot" in m}
    best = max(acc, key=acc.__getitem__)
    shown = ", ".join(f"{k} {v:.3f}" for k, v in acc.items())
    return acc[best] > chance + STROKES_MARGIN, (
        f"1-shot query accuracy on unseen classes: {shown}; best ({best}) > chance {chance:.2f} "
        f"+ {STROKES_MARGIN}")


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

STROKES = register(
    Experiment(
        name="srwm-fewshot-strokes",
        system="self-referential weight matrix (Irie et al. 2022)",
        paper="Irie, Schlag, Csordas & Schmidhuber, A modern self-referential weight matrix that "
              "learns to modify itself, ICML 2022",
        description="Modern SRWM vs DeltaNet vs LSTM with a Conv-4 encoder, 5-way 1-shot and "
                    "5-shot (synchronous labels) on procedural Omniglot-like characters",
        config=Config,
        scales={
            "quick": Config(dataset="strokes", k_shots=(1,), steps=200, batch=16, d_model=32,
                            layers=1, conv_channels=8, eval_every=100, test_episodes=200,
                            train_classes=200, test_classes=100, samples=10),
            "full": Config(dataset="strokes", k_shots=(1, 5), steps=1800, batch=16,
                           conv_channels=32, eval_every=300, test_episodes=1000),
        },
        run=run,
        smoke=smoke_strokes,
        reference=refs("neural", "srwm-fewshot-strokes"),
    )
)
