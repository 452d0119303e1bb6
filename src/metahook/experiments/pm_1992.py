"""pm-1992: every experiment of the 1992 predictability-minimization paper, 10 runs each.

Schmidhuber, "Learning factorial codes by predictability minimization", Neural Computation 4(6):
863-879, 1992, section 7 (people.idsia.ch/~juergen/factorial/node14.html - node15, and the
non-uniform subsection). A code net (shared hidden units, logistic code units) and one
predictor per code unit (:class:`~metahook.neural.predictability_minimization.PMNets`): the
predictors learn the conditional expectations, the code units maximise their error ``V_C``.
Off-line: 5 predictor epochs (PASS 1) per code epoch (PASS 2); on-line: one pattern drives both,
the predictors learning 10 times faster. By default the code units' error signals do not pass
through the predictors' input units (``semilinear``, the 1996 paper's first simplification): with
the full gradient our code units learn to blind the other predictors by turning constant (see
docs/compression.md); ``semilinear=False`` is the 1992 gradient. A unit is binary when no
activation is further than 0.05 from 0 or 1; a run has found a factorial code when its code is
(quasi-)binary, invertible and its symbols independent under the input distribution
(:func:`~metahook.neural.predictability_minimization.code_report`).

The table rows (``ROWS``), each 10 runs batched into one computation:

=====================  ========  ==============  ======  ======  =======  ===========  =========
row                    mode      inputs          dim(y)  shared  per P    budget       paper
=====================  ========  ==============  ======  ======  =======  ===========  =========
uniform_local_2        off-line  4 local         2       4       3        20,000 ep.   8/10
uniform_online_2       on-line   2 distributed   2       4       2        3,000 pres.  10/10
uniform_local_16       off-line  16 local        4       16      3        20,000 ep.   1/10 (*)
uniform_online_16      on-line   4 distributed   4       8       6        4,000 pres.  9/10
nonuniform_2           off-line  2 distributed   2       2       1        2,000 ep.    7/10
nonuniform_3           off-line  2 distributed   3       2       1        2,000 ep.    9/10
nonuniform_local       off-line  4 local         2       2       1        2,000 ep.    < 5/10
=====================  ========  ==============  ======  ======  =======  ===========  =========

(*) and 4 runs with 15 distinct codes, 3 with 13, 2 with 12. Non-uniform inputs have
probabilities (1, 2, 2, 4)/9; an epoch presents them 1, 2, 2 and 4 times. The last row's sizes
and budget are not in the paper (it reports only "success < 50 %"); ours are those of
``nonuniform_2``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metahook.harness.api import Experiment, Result, RunContext, collect, plots, register
from metahook.neural.predictability_minimization import (
    OBJECTIVES,
    PMNets,
    code_report,
    v_c_exact,
)
from metahook.neural.training import set_threads
from metahook.references import refs


@dataclass(frozen=True)
class Row:
    """One experiment of the paper."""

    online: bool
    inputs: str  # "local" (one-hot) or "distributed" (every binary vector)
    dim_x: int
    dim_y: int
    code_hidden: int
    pred_hidden: int
    budget: int  # epochs (off-line) or pattern presentations (on-line)
    uniform: bool = True


ROWS: dict[str, Row] = {
    "uniform_local_2": Row(False, "local", 4, 2, 4, 3, 20_000),
    "uniform_online_2": Row(True, "distributed", 2, 2, 4, 2, 3_000),
    "uniform_local_16": Row(False, "local", 16, 4, 16, 3, 20_000),
    "uniform_online_16": Row(True, "distributed", 4, 4, 8, 6, 4_000),
    "nonuniform_2": Row(False, "distributed", 2, 2, 2, 1, 2_000, uniform=False),
    "nonuniform_3": Row(False, "distributed", 2, 3, 2, 1, 2_000, uniform=False),
    "nonuniform_local": Row(False, "local", 4, 2, 2, 1, 2_000, uniform=False),
}
NONUNIFORM_COUNTS = (1, 2, 2, 4)  # presentations per epoch: P = (1, 2, 2, 4) / 9


def patterns(row: Row) -> tuple[np.ndarray, np.ndarray]:
    """The input patterns ``(K, dim_x)`` and how often an epoch presents each."""
    if row.inputs == "local":
        xs = np.eye(row.dim_x)
    else:
        xs = np.array(list(itertools.product((0.0, 1.0), repeat=row.dim_x)))
    counts = np.ones(len(xs)) if row.uniform else np.array(NONUNIFORM_COUNTS, float)
    if len(counts) != len(xs):
        raise ValueError(f"{len(xs)} patterns but {len(counts)} counts")
    return xs, counts


@dataclass(frozen=True)
class Config:
    rows: tuple[str, ...] = tuple(ROWS)
    runs: int = 10
    budget_factor: float = 1.0  # x the paper's epochs / presentations (1: the paper's)
    pred_epochs: int = 5  # PASS 1 epochs per code epoch (off-line; the paper's 5)
    offline_lr_pred: float = 16.0  # per presentation (epoch losses are means)
    offline_lr_code: float = 8.0
    online_lr_pred: float = 10.0
    online_lr_code: float = 1.0  # the predictors 10 times faster (the paper's ratio)
    init: float = 2.0  # weights start uniform in [-init, init]
    objective: str = "v_c"  # off-line code objective: "v_c" (eq. 3) or "variance" (eq. 4)
    semilinear: bool = True  # no error through the predictors' inputs (the 1996 shortcut)
    check_every: int = 50  # epochs / presentations between tests of the code
    threads: int = 1
    plots: bool = True

    def validate(self) -> None:
        bad = [r for r in self.rows if r not in ROWS]
        if bad or not self.rows:
            raise ValueError(f"unknown rows {bad}; have {', '.join(ROWS)}")
        if self.runs < 1 or self.pred_epochs < 1 or self.check_every < 1:
            raise ValueError("runs, pred_epochs and check_every must be >= 1")
        if not 0 < self.budget_factor <= 100:
            raise ValueError("budget_factor must be in (0, 100]")
        lrs = (self.offline_lr_pred, self.offline_lr_code, self.online_lr_pred,
               self.online_lr_code)
        if not all(0 < lr <= 100 for lr in lrs) or self.init <= 0:
            raise ValueError("learning rates must be in (0, 100] and init > 0")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; have {', '.join(OBJECTIVES)}")
        if self.threads < 0:
            raise ValueError("threads must be >= 0")


def train_row(name: str, cfg: Config, seed: int) -> dict[str, Any]:
    """The ``runs`` runs of one row, batched: per run the first check at which its code was
    factorial, and its code, report and ``V_C`` at the end of the budget."""
    row = ROWS[name]
    xs, counts = patterns(row)
    probs = counts / counts.sum()
    budget = max(1, round(row.budget * cfg.budget_factor))
    gen = torch.Generator()
    gen.manual_seed(seed * 1_000_003 + list(ROWS).index(name))
    net = PMNets(cfg.runs, row.dim_x, row.dim_y, row.code_hidden, row.pred_hidden, gen,
                 init=cfg.init, semilinear=cfg.semilinear,
                 objective="v_c" if row.online else cfg.objective)
    x_all = torch.as_tensor(xs)[None].expand(cfg.runs, -1, -1).contiguous()
    w = torch.as_tensor(counts / counts.sum(), dtype=torch.float64)  # per presentation
    rng = np.random.default_rng(seed * 1_000_003 + 17 + list(ROWS).index(name))
    first: list[int | None] = [None] * cfg.runs
    curve: list[int] = []
    for t in range(1, budget + 1):
        if row.online:
            idx = rng.choice(len(xs), size=cfg.runs, p=probs)
            net.online_step(torch.as_tensor(xs[idx])[:, None, :], cfg.online_lr_pred,
                            cfg.online_lr_code)
        else:
            net.offline_epoch(x_all, w, cfg.offline_lr_pred, cfg.offline_lr_code,
                              cfg.pred_epochs)
        if t % cfg.check_every == 0 or t == budget:
            y = net.codes(x_all).numpy()
            fact = [code_report(y[r], probs).factorial for r in range(cfg.runs)]
            for r in range(cfg.runs):
                if fact[r] and first[r] is None:
                    first[r] = t
            curve.append(int(sum(fact)))
    yt = net.codes(x_all)
    v_c = 0.5 * (((net.predictions(yt) - yt) ** 2).sum(-1)
                 * torch.as_tensor(counts)).sum(-1)  # over one epoch, as the paper's V_C
    y = yt.numpy()
    reports = [code_report(y[r], probs) for r in range(cfg.runs)]
    return {"budget": budget, "online": row.online, "first_factorial": first,
            "final": [r.as_dict() for r in reports],
            "v_c": v_c.tolist(),
            "v_c_binary": [v_c_exact(np.round(y[r]), counts) for r in range(cfg.runs)],
            "codes": np.round(y, 4).tolist(), "curve": curve}


def run(ctx: RunContext, cfg: Config) -> Result:
    set_threads(cfg.threads)

    def compute(missing: list[str]) -> Any:
        for name in missing:
            yield name, train_row(name, cfg, ctx.seed)

    def on_record(name: str, rec: dict[str, Any], n_done: int) -> None:
        ctx.log(n_done, row=name, factorial_runs=_count(rec),
                distinct=[f["distinct"] for f in rec["final"]])
        ctx.progress(n_done, len(cfg.rows), name)

    done = collect(ctx, list(cfg.rows), compute, on_record)
    m: dict[str, Any] = {"runs": cfg.runs}
    for name, rec in done.items():
        m[f"factorial_runs_{name}"] = _count(rec)
        m[f"factorial_at_end_{name}"] = sum(f["factorial"] for f in rec["final"])
        m[f"binary_runs_{name}"] = sum(f["binary"] for f in rec["final"])
        m[f"invertible_runs_{name}"] = sum(f["invertible"] for f in rec["final"])
        hits = [h for h in rec["first_factorial"] if h is not None]
        m[f"first_factorial_median_{name}"] = float(np.median(hits)) if hits else None
        m[f"budget_{name}"] = rec["budget"]
        distinct = [f["distinct"] for f in rec["final"]]
        m[f"distinct_codes_{name}"] = distinct
        m[f"runs_by_distinct_{name}"] = {str(k): distinct.count(k)
                                        for k in sorted(set(distinct), reverse=True)}
        m[f"v_c_{name}"] = rec["v_c"]
    if "uniform_local_16" in done:
        d = m["distinct_codes_uniform_local_16"]
        for k in (15, 14, 13, 12):
            m[f"runs_with_{k}_codes_uniform_local_16"] = d.count(k)
    if cfg.plots:
        _plot(ctx, cfg, done)
    return Result(metrics=m)


def _count(rec: dict[str, Any]) -> int:
    """Runs with a factorial code: on-line, found within the budget (as the paper counts its
    on-line runs); off-line, at the end of the budget."""
    if rec["online"]:
        return sum(h is not None for h in rec["first_factorial"])
    return sum(f["factorial"] for f in rec["final"])


def _plot(ctx: RunContext, cfg: Config, done: dict[str, Any]) -> None:
    paper = {k: r.value for k, r in refs("compression", "pm-1992").items()
             if k.startswith("factorial_runs_")}
    names = list(done)
    fig, ax = plots.figure(7.5, 4.0)
    xpos = np.arange(len(names))
    ax.bar(xpos - 0.2, [_count(done[n]) for n in names], 0.4, label="metahook")
    ax.bar(xpos + 0.2, [float(paper.get(f"factorial_runs_{n}", np.nan)) for n in names], 0.4,
           label="paper (1992)")
    ax.set_xticks(xpos, names, rotation=25, ha="right", fontsize=8)
    plots.finish(fig, ax, ctx.plot_path("factorial_runs"), xlabel="",
                 ylabel=f"runs (of {cfg.runs}) with a factorial code",
                 title="Predictability minimization, 1992: factorial codes per experiment")
    fig, ax = plots.figure(7.5, 4.0)
    for k, n in enumerate(names):
        c = done[n]["curve"]
        frac = np.linspace(1.0 / len(c), 1.0, len(c))
        ax.plot(frac, c, label=n, color=f"C{k}")
    plots.finish(fig, ax, ctx.plot_path("factorial_over_time"),
                 xlabel="fraction of the budget (epochs or presentations)",
                 ylabel="runs whose code is factorial now",
                 title="Factorial codes during training", legend_size=7)


QUICK_ROWS = ("uniform_online_2", "nonuniform_2")  # the smallest rows: 4 patterns, 2 units
PAPER_COUNTS = {"uniform_local_2": 8, "uniform_online_2": 10, "uniform_local_16": 1,
                "uniform_online_16": 9, "nonuniform_2": 7, "nonuniform_3": 9}


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The quick rows (all 10 runs each) find at least half as many factorial codes as the
    paper's runs."""
    counts = {r: m[f"factorial_runs_{r}"] for r in QUICK_ROWS}
    ok = all(counts[r] >= PAPER_COUNTS[r] / 2 for r in QUICK_ROWS)
    return ok, "factorial codes (ours / paper's, of 10): " + ", ".join(
        f"{r} {counts[r]}/{PAPER_COUNTS[r]}" for r in QUICK_ROWS)


EXPERIMENT = register(Experiment(
    name="pm-1992",
    system="predictability minimization (factorial codes, semilinear PM)",
    paper="Schmidhuber, Learning factorial codes by predictability minimization, Neural "
          "Computation 4(6):863-879, 1992",
    description="Code units that maximise their predictors' error find factorial codes: the "
                "paper's seven experiments (uniform and non-uniform inputs, off-line and "
                "on-line), 10 runs each, counted as the paper counts them.",
    config=Config,
    scales={"quick": Config(rows=QUICK_ROWS),
            "full": Config()},
    run=run,
    smoke=smoke,
    reference=refs("compression", "pm-1992"),
))
