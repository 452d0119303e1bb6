"""hsearch-demo: Hutter's M_p* (HSEARCH) on the trailing-zero mask of arrays of 16-bit words.

The specification p* is a bit-serial algorithm (82 steps per word). Process A enumerates
straight-line word programs in order of length, refutes most on a fixed set of test words and asks
z3 to prove the rest equivalent to p* on all 2^16 words; each proof puts (p, t_p) with
t_p(n) = 2 + n·(2 + cost(p)) into L. B evaluates the bounds for the input at hand, C runs the
program with the best bound (Hutter's doubling schedule, and the restart variant). For input sizes
n = 2^k we measure M's total time (steps) beside the best proven program's time t_best, the
specification's time, and the additive constant c (the time by which B holds the best bound):
for large n the total approaches t_best/share_C + c (restart) and stays below 5·t_best + c
(Hutter's Theorem 1, doubling).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.harness.api import Experiment, Result, RunContext, collect, plots, register
from metahook.references import refs
from metahook.search import hsearch as hs


@dataclass(frozen=True)
class Config:
    max_length: int = 3             # A enumerates programs of 1..max_length instructions
    min_log2_n: int = 8             # input sizes n = 2^k words, k from min to max
    max_log2_n: int = 22
    log2_step: int = 2
    share_a: float = 0.1            # A, B, C's shares of the machine (Hutter 2002, sec. 4)
    share_b: float = 0.1
    share_c: float = 0.8

    def validate(self) -> None:
        if not 1 <= self.max_length <= 4:
            raise ValueError("max_length must be 1..4 (5 would take days)")
        if not 0 <= self.min_log2_n <= self.max_log2_n <= 26 or self.log2_step < 1:
            raise ValueError("need 0 <= min_log2_n <= max_log2_n <= 26 and log2_step >= 1")
        shares = (self.share_a, self.share_b, self.share_c)
        if min(shares) <= 0 or abs(sum(shares) - 1) > 1e-9:
            raise ValueError("shares must be positive and sum to 1")


def run(ctx: RunContext, cfg: Config) -> Result:
    shares = hs.Shares(cfg.share_a, cfg.share_b, cfg.share_c)
    trace = hs.proof_search(cfg.max_length)          # A: independent of the input
    sizes = list(range(cfg.min_log2_n, cfg.max_log2_n + 1, cfg.log2_step))

    def measure(missing: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for key in missing:  # in order: each input is drawn from ctx.rng
            k = int(key)
            n = 1 << k
            xs = ctx.rng.integers(0, hs.MASK + 1, n).astype(np.int64)
            row: dict[str, Any] = {"log2_n": k, "n": n, "t_spec": hs.spec_time(n)}
            for variant in ("doubling", "restart"):
                o = hs.hsearch(xs, trace, shares, variant)
                row.update({f"total_{variant}": o.total, f"ok_{variant}": o.output_ok,
                            f"program_{variant}": o.program})
                row["t_best"] = o.t_best
                row["c"] = o.best_available
            yield key, row

    def logged(_key: str, row: dict[str, Any], n_done: int) -> None:
        ctx.log(row["log2_n"], **row)
        ctx.progress(n_done, len(sizes), "input sizes")

    rows = list(collect(ctx, [str(k) for k in sizes], measure, logged).values())

    big = [r for r in rows if r["total_restart"] - r["c"] > 0 and r["program_restart"] != "p*"]
    last = rows[-1]
    best = trace.found[0].program if trace.found else None
    fastest = min((f.program for f in trace.found), key=lambda p: p.cost, default=None)
    beats = [r["n"] for r in rows if r["total_restart"] < r["t_spec"]]
    metrics: dict[str, Any] = {
        "proofs_found": len(trace.found),
        "candidates_enumerated": trace.candidates,
        "candidates_sent_to_z3": trace.survivors,
        "a_steps_enumeration": trace.enum_steps,
        "a_steps_z3": trace.z3_steps,
        "first_proof": str(best) if best else "",
        "fastest_proven": str(fastest) if fastest else "",
        "fastest_steps_per_word": fastest.cost + hs.ELEM_OVERHEAD if fastest else None,
        "spec_steps_per_word": hs.ELEM_OVERHEAD + hs.SPEC_STEPS_PER_BIT * hs.W,
        "additive_constant_steps": last["c"],
        "restart_ratio": (last["total_restart"] - last["c"]) / last["t_best"],
        "doubling_ratio": (last["total_doubling"] - last["c"]) / last["t_best"],
        "doubling_ratio_max": max(((r["total_doubling"] - r["c"]) / r["t_best"] for r in big),
                                  default=None),
        "total_over_t_best_largest_n": last["total_restart"] / last["t_best"],
        "hutter_bound_holds": all(r["total_doubling"] <= 5 * r["t_best"] + r["c"]
                                  + hs.BOUND_STEPS / shares.b for r in rows),
        "speedup_over_spec_largest_n": last["t_spec"] / last["total_restart"],
        "beats_spec_from_n": min(beats) if beats else None,
        "outputs_correct": all(r["ok_doubling"] and r["ok_restart"] for r in rows),
        "largest_n": last["n"],
    }
    _plot(ctx, rows, shares)
    return Result(metrics=metrics)


def _plot(ctx: RunContext, rows: list[dict[str, Any]], shares: hs.Shares) -> None:
    n = np.array([r["n"] for r in rows], dtype=float)
    c = np.array([r["c"] for r in rows])
    tb = np.array([r["t_best"] for r in rows], dtype=float)
    fig, ax = plots.figure(6.5, 4.5)
    ax.loglog(n, [r["t_spec"] for r in rows], "k:", label="p* (specification) alone")
    ax.loglog(n, tb, "k--", label="best proven program alone")
    ax.loglog(n, [r["total_doubling"] for r in rows], "o-", label="M_p*, doubling C (Hutter)")
    ax.loglog(n, [r["total_restart"] for r in rows], "s-", label="M_p*, restarting C")
    ax.loglog(n, 5 * tb + c, "-", lw=0.8, label="5·t_best + c (Theorem 1)")
    ax.loglog(n, tb / shares.c + c, "-", lw=0.8, label=f"t_best/{shares.c:g} + c")
    ax.set_xlabel("input size n (words)")
    ax.set_ylabel("time (steps)")
    ax.set_title("HSEARCH: trailing-zero mask of n 16-bit words")
    ax.legend(fontsize=7)
    plots.save(fig, ctx.plot_path("hsearch_time"))


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """Hutter's Theorem 1: time <= 5 t_p + c on every input size, every output correct."""
    holds, correct = bool(m["hutter_bound_holds"]), bool(m["outputs_correct"])
    return holds and correct, (f"time <= 5 t_p + c on every input size: {holds}; every output "
                               f"correct: {correct}")


EXPERIMENT = register(
    Experiment(
        name="hsearch-demo",
        system="HSEARCH",
        paper="Hutter, The fastest and shortest algorithm for all well-defined problems, "
              "IJFCS 13(3):431-443 (2002), arXiv cs/0206022",
        description="M_p* with proof enumeration (z3 equivalence proofs), bound evaluation and "
                    "the best-bound program's runs; total time vs t_best/share + constant.",
        config=Config,
        scales={"quick": Config(), "full": Config(max_length=4, min_log2_n=6, max_log2_n=24,
                                                  log2_step=1)},
        run=run,
        smoke=smoke,
        reference=refs("godel", "hsearch-demo"),
    )
)
