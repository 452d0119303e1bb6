"""meta-gp-parity, meta-gp-regression: GP applied to its own operators, against fixed-operator GP.

Schmidhuber's diploma thesis (TU Munich 1987) proposes meta-evolution, GP whose variation
operators are themselves evolved programs, at any number of levels, and PSALM's credit-conserving
economies of operators; it reports no experiment, so there is no figure to match. Each run here
is one GP run (:mod:`metahook.evolution.meta_gp`) of one method on one problem from its own seed,
under the same budget of object-level evaluations:

* ``deap``: deap's tree GP (subtree crossover and mutation), trees evaluated on the machine;
* ``fixed``: GP on the OOPS language with hand-written subtree crossover and mutation;
* ``meta1``: evolved level-1 operators (programs of the machine), varied by the fixed seeds;
* ``meta2``: level-2 operators evolve the level-1 ones;
* ``credit``: ``meta2`` with the PSALM-style credit economy instead of windowed fitness.

Reported per method (and per problem): success rate, median evaluations to solve (over the solved
runs), and two-sided tests of each meta method against ``fixed`` (Fisher's exact test on the
successes; Mann-Whitney U on evaluations to solve, unsolved runs ranked beyond the budget, and
on the best run's hits).
``operators.json`` lists the operators that survived the first run of each meta method.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.harness.api import (
    Experiment,
    Result,
    RunContext,
    atomic_write_json,
    collect,
    plots,
    register,
)
from metahook.references import refs

PAPER = ("J. Schmidhuber, Evolutionary principles in self-referential learning, or on learning "
         "how to learn: the meta-meta-... hook, diploma thesis, TU Munich, 1987 (pp. 7-13 "
         "meta-evolution, pp. 23-51 PSALM)")
METHODS = ("deap", "fixed", "meta1", "meta2", "credit")
META = ("meta1", "meta2", "credit")
_DEPTH = {"fixed": (0, False), "meta1": (1, False), "meta2": (2, False), "credit": (2, True)}


@dataclass(frozen=True)
class Config:
    problems: tuple[str, ...] = ("even-4", "even-5")
    methods: tuple[str, ...] = METHODS
    seeds: int = 30  # runs per method and problem
    population: int = 100
    evaluations: int = 10_000  # object-level evaluations per run
    workers: int = 0  # processes (0: all cores, 1: this process)

    def validate(self) -> None:
        from metahook.evolution.meta_gp import make_problem

        for p in self.problems:
            make_problem(p)
        bad = set(self.methods) - set(METHODS)
        if bad:
            raise ValueError(f"unknown methods {sorted(bad)}; choose from {METHODS}")
        if self.seeds < 1 or self.workers < 0:
            raise ValueError("seeds must be >= 1 and workers >= 0")
        self.settings("fixed").validate()

    def settings(self, method: str) -> Any:
        from metahook.evolution.meta_gp import Settings

        depth, economy = _DEPTH.get(method, (0, False))
        return Settings(population=self.population, evaluations=self.evaluations, depth=depth,
                        economy=economy)


def one_run(job: tuple[str, str, int, int, Config]) -> tuple[str, dict[str, Any]]:
    """One GP run: ``(key, record)``; the history and operators only for run 0."""
    from metahook.evolution.meta_gp import MetaGP, make_problem
    from metahook.evolution.meta_gp_deap import run_deap

    problem_name, method, index, seed, cfg = job
    rng = np.random.default_rng(np.random.SeedSequence(
        [seed, zlib.crc32(problem_name.encode()), zlib.crc32(method.encode()), index]))
    problem = make_problem(problem_name)
    if method == "deap":
        rec = run_deap(problem, cfg.settings(method), rng)
    else:
        gp = MetaGP(problem, cfg.settings(method), rng)
        rec = gp.run()
        if index == 0 and method in META:
            step = max(1, len(gp.history) // 200)
            rec["history"] = gp.history[::step]
        else:
            rec.pop("operators", None)
    if "operators" in rec:
        rec["operators"] = {str(k): v[:5] for k, v in rec["operators"].items()}
    return f"{problem_name}/{method}/{index}", rec


def _execute(jobs: list[tuple[str, str, int, int, Config]], workers: int
             ) -> Iterator[tuple[str, dict[str, Any]]]:
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        for j in jobs:
            yield one_run(j)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        pending: set[Future[tuple[str, dict[str, Any]]]] = {pool.submit(one_run, j)
                                                             for j in jobs}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()


def _short(problem: str) -> str:
    return problem.replace("-", "")


def run(ctx: RunContext, cfg: Config) -> Result:
    from scipy.stats import fisher_exact, mannwhitneyu

    jobs = {f"{p}/{m}/{i}": (p, m, i, ctx.seed, cfg)
            for p in cfg.problems for m in cfg.methods for i in range(cfg.seeds)}

    def compute(missing: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        yield from _execute([jobs[k] for k in missing], cfg.workers)

    def logged(key: str, rec: dict[str, Any], n: int) -> None:
        ctx.log(n, run=key, solved=rec["solved"], evals_to_solve=rec["evals_to_solve"],
                best_hits=rec["best_hits"])
        ctx.progress(n, len(jobs), key)

    recs = collect(ctx, list(jobs), compute, logged)
    m: dict[str, Any] = {"seeds": cfg.seeds, "evaluations_budget": cfg.evaluations,
                         "population": cfg.population}
    per: dict[str, dict[str, list[dict[str, Any]]]] = {
        p: {meth: [recs[f"{p}/{meth}/{i}"] for i in range(cfg.seeds)] for meth in cfg.methods}
        for p in cfg.problems}
    for meth in cfg.methods:
        m |= _solve_stats([r for p in cfg.problems for r in per[p][meth]], meth,
                          cfg.evaluations)
        for p in cfg.problems:
            rs = per[p][meth]
            m |= _solve_stats(rs, f"{meth}_{_short(p)}", cfg.evaluations)
            m[f"best_hits_mean_{meth}_{_short(p)}"] = float(np.mean([r["best_hits"] for r in rs]))
    if "fixed" in cfg.methods:
        for meth in (x for x in cfg.methods if x != "fixed"):
            for p in cfg.problems:
                a, b = per[p][meth], per[p]["fixed"]
                sa, sb = sum(r["solved"] for r in a), sum(r["solved"] for r in b)
                m[f"p_success_{meth}_vs_fixed_{_short(p)}"] = float(fisher_exact(
                    [[sa, len(a) - sa], [sb, len(b) - sb]])[1])
                cens = cfg.evaluations + 1
                xa = [r["evals_to_solve"] if r["solved"] else cens for r in a]
                xb = [r["evals_to_solve"] if r["solved"] else cens for r in b]
                m[f"p_evals_{meth}_vs_fixed_{_short(p)}"] = (
                    float(mannwhitneyu(xa, xb).pvalue) if set(xa) | set(xb) != {cens} else 1.0)
                ha, hb = [r["best_hits"] for r in a], [r["best_hits"] for r in b]
                m[f"p_hits_{meth}_vs_fixed_{_short(p)}"] = (
                    float(mannwhitneyu(ha, hb).pvalue) if len(set(ha) | set(hb)) > 1 else 1.0)
    rejections: dict[str, int] = {}
    for r in recs.values():
        for k, v in r.get("rejections", {}).items():
            rejections[k] = rejections.get(k, 0) + v
    m["rejections"] = rejections
    survivors = {f"{p}/{meth}": per[p][meth][0].get("operators", {})
                 for p in cfg.problems for meth in cfg.methods if meth in META}
    atomic_write_json(ctx.out / "operators.json", survivors)
    for key, levels in survivors.items():
        for lv, ops in levels.items():
            for o in ops[:3]:
                print(f"{key} level {lv}: {o['text']}  (fitness {o['fitness']:.4f}, "
                      f"credit {o['credit']:.3f}, applied {o['applied']}, {o['origin']})")
    _plot(ctx, cfg, per)
    return Result(metrics=m)


def _plot(ctx: RunContext, cfg: Config, per: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
    fig, _ = plots.figure(12.0, 4.0)
    fig.clf()
    axes = fig.subplots(1, len(cfg.problems), squeeze=False)[0]
    grid = np.linspace(0, cfg.evaluations, 101)
    for ax, p in zip(axes, cfg.problems, strict=True):
        for meth in cfg.methods:
            e = np.array([r["evals_to_solve"] if r["solved"] else np.inf for r in per[p][meth]])
            ax.plot(grid, [(e <= g).mean() for g in grid], label=meth)
        ax.set_title(p)
        ax.set_xlabel("object-level evaluations")
        ax.set_ylabel("share of runs solved")
        ax.legend()
    plots.save(fig, ctx.plot_path("success"))
    metas = [m for m in cfg.methods if m in META]
    if not metas:
        return
    fig, _ = plots.figure(12.0, 4.0)
    fig.clf()
    axes = fig.subplots(1, len(metas), squeeze=False)[0]
    for ax, meth in zip(axes, metas, strict=True):
        hist = per[cfg.problems[0]][meth][0].get("history", [])
        x = [h["evals"] for h in hist]
        for lv in (1, 2):
            if hist and f"ops{lv}_max" in hist[0]:
                ax.plot(x, [h[f"ops{lv}_max"] for h in hist], label=f"level {lv} best")
                ax.plot(x, [h[f"ops{lv}_mean"] for h in hist], ls="--",
                        label=f"level {lv} mean")
        ax.set_title(f"{meth} on {cfg.problems[0]}, run 0")
        ax.set_xlabel("object-level evaluations")
        ax.set_ylabel("credit" if meth == "credit" else "operator fitness (mean gain)")
        ax.legend()
    plots.save(fig, ctx.plot_path("operator_fitness"))


def _solve_stats(runs: list[dict[str, Any]], key: str, cap: int) -> dict[str, Any]:
    """Success rate and evaluations to solve of ``runs``: the median and mean over the solved
    runs, and the mean with each unsolved run counted at the budget ``cap``."""
    e = [r["evals_to_solve"] for r in runs if r["solved"]]
    return {f"success_rate_{key}": float(np.mean([r["solved"] for r in runs])),
            f"evals_to_solve_median_{key}": float(np.median(e)) if e else None,
            f"evals_to_solve_mean_{key}": float(np.mean(e)) if e else None,
            f"evals_mean_capped_{key}": float(np.mean(
                [r["evals_to_solve"] if r["solved"] else cap for r in runs]))}


def smoke_parity(m: dict[str, Any]) -> tuple[bool, str]:
    """A fixed-operator baseline (ours or deap's) solves even-3 parity in the quick runs."""
    ok = max(m["success_rate_fixed"], m["success_rate_deap"]) > 0
    return ok, (f"even-3 solved by fixed GP in {m['success_rate_fixed']:.0%}, by deap in "
                f"{m['success_rate_deap']:.0%} of the runs")


def smoke_regression(m: dict[str, Any]) -> tuple[bool, str]:
    """A fixed-operator baseline (ours or deap's) solves Koza's quartic in the quick runs."""
    ok = max(m["success_rate_fixed"], m["success_rate_deap"]) > 0
    return ok, (f"quartic solved by fixed GP in {m['success_rate_fixed']:.0%}, by deap in "
                f"{m['success_rate_deap']:.0%} of the runs")


EXPERIMENTS = (
    register(Experiment(
        name="meta-gp-parity", system="Meta-GP", paper=PAPER,
        reference=refs("meta_gp", "meta-gp-parity"),
        description="Meta-GP vs fixed-operator GP on even-4 and even-5 parity (OOPS language).",
        config=Config,
        scales={"quick": Config(problems=("even-3",), seeds=2, evaluations=5000, workers=1),
                "full": Config()},
        run=run, smoke=smoke_parity)),
    register(Experiment(
        name="meta-gp-regression", system="Meta-GP", paper=PAPER,
        reference=refs("meta_gp", "meta-gp-regression"),
        description="Meta-GP vs fixed-operator GP on Koza's quartic and sextic (OOPS language).",
        config=Config,
        scales={"quick": Config(problems=("quartic",), seeds=2, evaluations=3000, workers=1),
                "full": Config(problems=("quartic", "sextic"))},
        run=run, smoke=smoke_regression)),
)
