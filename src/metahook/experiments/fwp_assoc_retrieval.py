"""fwp-assoc-retrieval: Ba et al. 2016's associative-retrieval task, fast weights against LSTM.

J. Ba, G. Hinton, V. Mnih, J. Leibo, C. Ionescu, "Using fast weights to attend to the recent past",
NIPS 2016, sec. 4.1 / Table 1.  Sequences like ``c9k8j3f1??c -> 9`` (see
:mod:`metahook.envs.assoc_retrieval`); each model reads the one-hot tokens and classifies the
answer digit from its last hidden state.  For every hidden size R in ``hidden_sizes`` and every
model in ``models`` we train with Adam on a fixed training set, keep the parameters with the best
validation error, and report the test error (%).

Models: ``fast_weights`` (:class:`~metahook.neural.fast_weights.BaFastWeights`, ReLU, layer norm,
``inner_steps`` settling steps), ``lstm`` (``torch.nn.LSTM``), ``irnn`` (ReLU RNN with identity
initialisation, ``torch.nn.RNN``), ``deltanet`` (one DeltaNet layer, for comparison; not in the
paper).  Cost measure: training sequences seen (the paper's iterations x batch) beside wall-clock.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from metahook.envs import assoc_retrieval as ar
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
from metahook.neural.fast_weights import BaFastWeights, DeltaNet
from metahook.neural.training import Placement, Training, n_params, seeded
from metahook.references import refs

MODELS = ("fast_weights", "lstm", "irnn", "deltanet")


@dataclass(frozen=True)
class Config(Placement):
    n_pairs: int = 4
    hidden_sizes: tuple[int, ...] = (20, 50, 100)
    models: tuple[str, ...] = ("fast_weights", "lstm")
    n_train: int = 100_000
    n_val: int = 10_000
    n_test: int = 20_000
    steps: int = 20_000  # optimiser steps per (model, R)
    batch: int = 128
    lr: float = 1e-3
    grad_clip: float = 5.0
    lam: float = 0.95  # fast-weight decay
    eta: float = 1.0  # fast learning rate (0.5 learned far slower in our probes)
    inner_steps: int = 1  # settling steps S
    eval_every: int = 500
    # regularisation a user would try against overfitting (off in the paper's protocol):
    # decoupled weight decay (AdamW) and dropout on the recurrent core's last output
    weight_decay: float = 0.0
    dropout: float = 0.0

    def validate(self) -> None:
        if not 1 <= self.n_pairs <= ar.N_LETTERS:
            raise ValueError(f"n_pairs must be in 1..{ar.N_LETTERS}")
        bad = [m for m in self.models if m not in MODELS]
        if bad or not self.models:
            raise ValueError(f"unknown models {bad}; valid: {', '.join(MODELS)}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ValueError("hidden_sizes must be a non-empty list of positive sizes")
        for name in ("n_train", "n_val", "n_test", "steps", "batch", "eval_every", "inner_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.lr <= 0 or not 0 <= self.lam <= 1 or self.eta < 0:
            raise ValueError("need lr > 0, 0 <= lam <= 1, eta >= 0")
        if not (self.weight_decay >= 0 and 0 <= self.dropout < 1):
            raise ValueError("need weight_decay >= 0 and 0 <= dropout < 1")
        super().validate()


class Classifier(nn.Module):
    """One-hot tokens -> recurrent core -> the answer digit from the last step."""

    def __init__(self, kind: str, hidden: int, cfg: Config) -> None:
        super().__init__()
        self.kind = kind
        self.core: nn.Module
        if kind == "fast_weights":
            self.core = BaFastWeights(ar.VOCAB, hidden, hidden, lam=cfg.lam, eta=cfg.eta,
                                      inner_steps=cfg.inner_steps)
        elif kind == "lstm":
            self.core = nn.LSTM(ar.VOCAB, hidden, batch_first=True)
        elif kind == "irnn":
            rnn = nn.RNN(ar.VOCAB, hidden, nonlinearity="relu", batch_first=True)
            nn.init.eye_(rnn.get_parameter("weight_hh_l0"))
            nn.init.zeros_(rnn.get_parameter("bias_hh_l0"))
            self.core = rnn
        elif kind == "deltanet":
            self.core = DeltaNet(ar.VOCAB, hidden, n_heads=1, d_head=hidden, kernel="chunkwise",
                                 chunk_size=16)
        else:
            raise ValueError(f"unknown model {kind!r}; valid: {', '.join(MODELS)}")
        self.readout = nn.Linear(hidden, ar.N_DIGITS)
        # only built when asked for, so that runs without dropout draw the same random numbers
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else None

    def forward(self, tokens: Tensor) -> Tensor:
        x = F.one_hot(tokens, ar.VOCAB).float()
        out, _ = self.core(x)
        last = out[:, -1]
        return self.readout(last if self.drop is None else self.drop(last))


def _error(model: nn.Module, tokens: Tensor, target: Tensor, batch: int = 2000) -> float:
    wrong = 0
    with torch.no_grad():
        for i in range(0, len(tokens), batch):
            pred = model(tokens[i : i + batch]).argmax(-1)
            wrong += int((pred != target[i : i + batch]).sum())
    return wrong / len(tokens)


def run(ctx: RunContext, cfg: Config) -> Result:
    device = cfg.place()
    data_rng = np.random.default_rng([ctx.seed, 1])
    splits = {}
    for name, n in (("train", cfg.n_train), ("val", cfg.n_val), ("test", cfg.n_test)):
        tok, tgt = ar.make_retrieval(n, cfg.n_pairs, data_rng)
        splits[name] = (torch.from_numpy(tok).to(device), torch.from_numpy(tgt).to(device))
    jobs = [(m, n_hidden) for n_hidden in cfg.hidden_sizes for m in cfg.models]
    total_steps = len(jobs) * cfg.steps
    tok_tr, tgt_tr = splits["train"]

    def make(j: int, _shared: dict[str, Any]) -> Training:
        kind, n_hidden = jobs[j]
        model = seeded(functools.partial(Classifier, kind, n_hidden, cfg), ctx.seed * 1000 + j)
        model.to(device)
        opt = (torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
               if cfg.weight_decay > 0 else torch.optim.Adam(model.parameters(), lr=cfg.lr))
        return Training(model, opt, best_err=2.0, best_step=0, best_params={})

    def step(j: int, t: Training) -> bool:
        if t.step >= cfg.steps:
            return False
        kind, n_hidden = jobs[j]
        idx = torch.from_numpy(ctx.rng.integers(0, cfg.n_train, size=cfg.batch)).to(device)
        loss = F.cross_entropy(t.model(tok_tr[idx]), tgt_tr[idx])
        t.update(loss, cfg.grad_clip)
        if t.step % cfg.eval_every == 0 or t.step == cfg.steps:
            t.model.eval()
            val = _error(t.model, *splits["val"])
            t.model.train()
            t.curve.append([t.step, val])
            ctx.log(j * cfg.steps + t.step, model=kind, R=n_hidden, model_step=t.step,
                    loss=loss.item(), val_error=val)
            if val < float(t.extra["best_err"]):
                t.extra.update(best_err=val, best_step=t.step,
                               best_params=copy.deepcopy(t.model.state_dict()))
        ctx.progress(j * cfg.steps + t.step, total_steps, f"{kind}_R{n_hidden} step {t.step}")
        return True

    def summarise(j: int, t: Training) -> dict[str, Any]:
        kind, n_hidden = jobs[j]
        if t.extra["best_params"]:
            t.model.load_state_dict(t.extra["best_params"])
        t.model.eval()
        test_error = _error(t.model, *splits["test"])
        return {"model": kind, "R": n_hidden, "test_error_pct": 100 * test_error,
                "best_val_error_pct": 100 * float(t.extra["best_err"]),
                "best_step": int(t.extra["best_step"]), "sequences_seen": cfg.steps * cfg.batch,
                "params": n_params(t.model), "wall_s": t.wall_s, "curve": t.curve}

    done = run_jobs(ctx, [f"{kind}_R{n_hidden}" for kind, n_hidden in jobs], make, step, summarise)
    metrics: dict[str, Any] = {}
    for key, d in done.items():
        metrics[f"test_error_pct_{key}"] = round(d["test_error_pct"], 2)
        metrics[f"params_{key}"] = d["params"]
        metrics[f"train_wall_s_{key}"] = round(d["wall_s"], 1)
        # early stopping: the step whose parameters were tested, its and the last validation error
        metrics[f"best_step_{key}"] = d["best_step"]
        metrics[f"best_val_error_pct_{key}"] = round(d["best_val_error_pct"], 2)
        metrics[f"last_val_error_pct_{key}"] = round(100 * d["curve"][-1][1], 2)
    metrics["sequences_seen_per_model"] = cfg.steps * cfg.batch
    metrics["n_pairs"] = cfg.n_pairs
    fig, ax = plots.figure()
    for key, d in done.items():
        c = np.array(d["curve"])
        ax.plot(c[:, 0], 100 * c[:, 1], label=key)
    ax.axhline(90, color="gray", ls=":", label="chance (90 %)")
    plots.finish(fig, ax, ctx.plot_path("val_error"), xlabel=f"optimiser steps (batch {cfg.batch})",
                 ylabel="validation error (%)",
                 title=f"associative retrieval, K = {cfg.n_pairs} pairs")
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """Ba et al.'s headline at R = 20: the fast-weight net retrieves (off the ~62 % plateau), the
    LSTM does not (10 points behind)."""
    fw, lstm = m["test_error_pct_fast_weights_R20"], m["test_error_pct_lstm_R20"]
    ok = fw < lstm - 10.0 and fw < 50.0
    return ok, f"test error: fast weights {fw:.1f} % < LSTM {lstm:.1f} % - 10 points, and < 50 %"


EXPERIMENT = register(
    Experiment(
        name="fwp-assoc-retrieval",
        system="fast weights (Ba et al. 2016)",
        paper="Ba, Hinton, Mnih, Leibo & Ionescu, Using fast weights to attend to the recent past, "
              "NIPS 2016",
        description="Associative retrieval c9k8j3f1??c -> 9: fast weights vs LSTM, R hidden units",
        config=Config,
        scales={
            # quick: lr 2e-3 (full: 1e-3), 2400 steps: the fast-weight net leaves the ~62 %
            # plateau while the LSTM stays on it. When it leaves is chaotic: it changes with the
            # seed and with the CPU's vector width (torch's AVX-512 kernels sum in another order
            # than its AVX2 ones). Seeds 0-5, test error: AVX2 5-22 %, AVX-512 5-34 % but seed 1
            # stuck at 61 %; LSTM 59-63 % on both (at 1200 steps AVX-512 seeds 0 and 1 stuck)
            "quick": Config(hidden_sizes=(20,), n_train=20_000, n_val=1000, n_test=2000,
                            steps=2400, lr=2e-3, eval_every=200),
            "full": Config(hidden_sizes=(20, 50, 100), steps=60_000),
        },
        run=run,
        smoke=smoke,
        reference=refs("neural", "fwp-assoc-retrieval"),
    )
)
