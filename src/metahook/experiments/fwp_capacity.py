"""fwp-capacity: capacity of the sum rule against the delta rule (Schlag, Irie & Schmidhuber 2021).

I. Schlag, K. Irie, J. Schmidhuber, "Linear Transformers are secretly fast weight programmers",
ICML 2021, sec. 6.1 (synthetic retrieval).  A fast weight memory writes ``S`` key-value pairs
(:mod:`metahook.envs.key_value`) and is then queried with a key.  Keys are learned embeddings of
size ``d_key`` = 64 mapped by ``phi`` to ``d_dot`` features (linear ELU+1: 64; DPFP nu = 1, 2, 3:
128, 256, 384), sum-normalised; values are fixed random unit vectors; the read-out is
``S_T^T phi(k_query)``; the loss is ``1/2 ||v - v_hat||^2``.  Training: Adam, batch 32, evaluation
every ``eval_every`` steps on 20 held-out sequences querying every present key, stopping at an
evaluation loss <= ``stop_loss`` or after ``patience`` evaluations without improvement.  The
figure is the final evaluation loss against ``S``, per feature map and update rule, for setting 1
(``sizes``, ``phis``: unique keys) and setting 2 (``sizes2``, ``phis2``: keys with replacement,
the last value wins).

The writes run through the chunkwise kernels of :mod:`metahook.neural.fast_weights`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from metahook.envs import key_value
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
from metahook.neural.fast_weights import (
    delta_rule_chunkwise,
    feature_dim,
    feature_map,
    sum_rule_chunkwise,
)
from metahook.neural.training import Placement, Training, seeded
from metahook.references import refs

PHIS = ("elu_sum", "dpfp1", "dpfp2", "dpfp3")


@dataclass(frozen=True)
class Config(Placement):
    sizes: tuple[int, ...] = (20, 40, 60, 80, 120, 160, 200, 260, 360, 400, 600)  # setting 1
    phis: tuple[str, ...] = PHIS
    rules: tuple[str, ...] = ("sum", "delta")
    sizes2: tuple[int, ...] = (20, 60, 100, 140, 200)  # setting 2 (empty: skip it)
    phis2: tuple[str, ...] = ("elu_sum", "dpfp1", "dpfp2")
    d_key: int = 64
    d_value: int = 64
    batch: int = 32
    lr: float = 0.1  # the paper: 1e-3 for up to 100k steps; see docs/neural.md, Deviations
    max_steps: int = 1000
    eval_every: int = 100
    eval_seqs: int = 20
    stop_loss: float = 1e-3
    patience: int = 10
    chunk_size: int = 64

    def validate(self) -> None:
        if min(self.sizes + self.sizes2, default=0) < 1:
            raise ValueError("sizes must be positive (and not both empty)")
        bad = [p for p in self.phis + self.phis2 if p not in PHIS]
        if bad or not self.phis:
            raise ValueError(f"unknown phis {bad}; valid: {', '.join(PHIS)}")
        badr = [r for r in self.rules if r not in ("sum", "delta")]
        if badr or not self.rules:
            raise ValueError(f"unknown rules {badr}; valid: sum, delta")
        for name in ("d_key", "d_value", "batch", "max_steps", "eval_every", "eval_seqs",
                     "patience", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        super().validate()


class Memory(nn.Module):
    """Learned key embeddings -> phi -> sum- or delta-rule fast weights over fixed values."""

    values: torch.Tensor

    def __init__(self, S: int, cfg: Config, phi: str, rule: str, values: torch.Tensor) -> None:
        super().__init__()
        self.emb = nn.Embedding(S, cfg.d_key)
        self.beta = nn.Linear(cfg.d_key, 1) if rule == "delta" else None
        self.register_buffer("values", values)
        self.phi, self.rule, self.C = phi, rule, cfg.chunk_size

    def write(self, keys: torch.Tensor, vals: torch.Tensor) -> torch.Tensor:
        e = self.emb(keys)[:, None]  # (B, 1, L, d_key): one head
        k = feature_map(e, self.phi)
        v = self.values[vals][:, None]
        q = k[..., :1, :]  # unused read-outs; only the final state is needed
        if self.beta is None:
            _, S = sum_rule_chunkwise(q.expand_as(k), k, v, chunk_size=self.C)
        else:
            beta = torch.sigmoid(self.beta(e))[..., 0]
            _, S = delta_rule_chunkwise(q.expand_as(k), k, v, beta, chunk_size=self.C)
        return S[:, 0]  # (B, d_dot, d_value)

    def read(self, S: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """``queries (B, Q)`` key ids -> ``(B, Q, d_value)``."""
        return feature_map(self.emb(queries), self.phi) @ S


def _loss(model: Memory, S: torch.Tensor, queries: torch.Tensor, target: torch.Tensor,
          mask: torch.Tensor) -> torch.Tensor:
    err = 0.5 * ((model.read(S, queries) - model.values[target.clamp_min(0)]) ** 2).sum(-1)
    return (err * mask).sum() / mask.sum()


def run(ctx: RunContext, cfg: Config) -> Result:
    device = cfg.place()
    jobs = [(1, S, phi, rule) for S in cfg.sizes for phi in cfg.phis for rule in cfg.rules]
    jobs += [(2, S, phi, rule) for S in cfg.sizes2 for phi in cfg.phis2 for rule in cfg.rules]
    keys = [f"s{setting}_{rule}_{phi}_S{S}" for setting, S, phi, rule in jobs]
    # the held-out sequences of the job being run: (keys, values, targets, every key queried)
    held_out: dict[int, tuple[torch.Tensor, ...]] = {}

    def evaluate(j: int, model: Memory) -> float:
        tk, tv, tt, all_q = held_out[j]
        with torch.no_grad():
            return float(_loss(model, model.write(tk, tv), all_q, tt, (tt >= 0).float()))

    def make(j: int, _shared: dict[str, Any]) -> Training:
        setting, S, phi, rule = jobs[j]
        g = torch.Generator().manual_seed(ctx.seed * 7919 + S)
        values = nn.functional.normalize(torch.randn(S, cfg.d_value, generator=g), dim=-1)
        model = seeded(functools.partial(Memory, S, cfg, phi, rule, values),
                       ctx.seed * 1000 + j).to(device)
        test_rng = np.random.default_rng([ctx.seed, S, 3])
        tk, tv, tt = (torch.from_numpy(a).to(device)
                      for a in key_value.make(cfg.eval_seqs, S, setting, test_rng))
        held_out.clear()
        held_out[j] = (tk, tv, tt, torch.arange(S, device=device).expand(cfg.eval_seqs, S))
        return Training(model, torch.optim.Adam(model.parameters(), lr=cfg.lr),
                        best=float("inf"), since=0, stopped=False)

    def step(j: int, t: Training) -> bool:
        if t.step >= cfg.max_steps or t.extra["stopped"]:
            return False
        setting, S, _, _ = jobs[j]
        ks, vs, tg = key_value.make(cfg.batch, S, setting, ctx.rng)
        qs = key_value.sample_queries(tg, ctx.rng)
        ks_t, vs_t = torch.from_numpy(ks).to(device), torch.from_numpy(vs).to(device)
        q_t = torch.from_numpy(qs).to(device)[:, None]
        tg_t = torch.from_numpy(tg).to(device).gather(1, q_t)
        model = cast(Memory, t.model)
        t.update(_loss(model, model.write(ks_t, vs_t), q_t, tg_t, torch.ones_like(tg_t)))
        if t.step % cfg.eval_every == 0:
            ev = evaluate(j, model)
            t.curve.append([t.step, ev])
            ctx.log(j, key=keys[j], model_step=t.step, eval_loss=ev)
            if ev < float(t.extra["best"]):
                t.extra.update(best=ev, since=0)
            else:
                t.extra["since"] = int(t.extra["since"]) + 1
            if ev <= cfg.stop_loss or int(t.extra["since"]) >= cfg.patience:
                t.extra["stopped"] = True
                return False
        ctx.progress(j + t.step / cfg.max_steps, len(jobs), f"{keys[j]} step {t.step}")
        return True

    def summarise(j: int, t: Training) -> dict[str, Any]:
        setting, S, phi, rule = jobs[j]
        if not t.curve:
            t.curve.append([t.step, evaluate(j, cast(Memory, t.model))])
        return {"setting": setting, "S": S, "phi": phi, "rule": rule,
                "d_dot": feature_dim(cfg.d_key, phi), "final_eval_loss": t.curve[-1][1],
                "steps": t.step, "wall_s": t.wall_s}

    done = run_jobs(ctx, keys, make, step, summarise)
    metrics: dict[str, Any] = {f"loss_{k}": round(d["final_eval_loss"], 5) for k, d in done.items()}
    metrics["train_steps_total"] = sum(d["steps"] for d in done.values())
    for setting in (1, 2):
        runs = [d for d in done.values() if d["setting"] == setting]
        if not runs:
            continue
        # the largest S still retrieved (loss < 0.05) per rule and phi, beside d_dot
        for phi in sorted({d["phi"] for d in runs}):
            for rule in cfg.rules:
                ok = [d["S"] for d in runs
                      if d["phi"] == phi and d["rule"] == rule and d["final_eval_loss"] < 0.05]
                metrics[f"max_S_retrieved_s{setting}_{rule}_{phi}"] = max(ok) if ok else 0
        fig, ax = plots.figure()
        for phi in sorted({d["phi"] for d in runs}):
            for rule in cfg.rules:
                pts = sorted((d["S"], d["final_eval_loss"]) for d in runs
                             if d["phi"] == phi and d["rule"] == rule)
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, ys, "o-" if rule == "delta" else "s--",
                            label=f"{rule}, {phi} (d_dot {feature_dim(cfg.d_key, phi)})")
        ax.set_xlabel("number of unique keys S")
        ax.set_ylabel("final evaluation loss")
        ax.set_title(f"setting {setting}: " + ("unique keys" if setting == 1 else
                                               "keys with replacement, last value wins"))
        ax.legend(fontsize=7)
        plots.save(fig, ctx.plot_path(f"capacity_setting{setting}"))
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The setting-1 headline: a sum-rule memory (d_dot = 64) holds 20 keys, not 150."""
    s20, s150 = m["loss_s1_sum_elu_sum_S20"], m["loss_s1_sum_elu_sum_S150"]
    ok = s20 < 0.06 and s150 > 0.15 and s150 > 5 * s20
    return ok, (f"sum-rule loss at S = 20 {s20:.3f} < 0.06; at S = 150 {s150:.3f} > 0.15 and "
                f"> 5 x S = 20's")


EXPERIMENT = register(
    Experiment(
        name="fwp-capacity",
        system="linear Transformers as fast weight programmers (sum vs delta rule)",
        paper="Schlag, Irie & Schmidhuber, Linear Transformers are secretly fast weight "
              "programmers, ICML 2021",
        description="Retrieval loss vs number of stored keys: sum rule breaks past d_dot",
        config=Config,
        scales={
            "quick": Config(sizes=(20, 150), phis=("elu_sum",), sizes2=(), max_steps=300,
                            eval_every=50, patience=4),
            "full": Config(sizes=(20, 60, 120, 200, 260, 400, 600)),
        },
        run=run,
        smoke=smoke,
        reference=refs("neural", "fwp-capacity"),
    )
)
