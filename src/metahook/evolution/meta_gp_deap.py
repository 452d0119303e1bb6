"""The fixed-operator baseline on ``deap``'s tree GP, with the primitive set of a Meta-GP problem.

The same protocol as :class:`metahook.evolution.meta_gp.MetaGP` with ``depth=0``: ramped
half-and-half initial population, tournament selection, one elite, subtree crossover
(``gp.cxOnePoint``) or subtree mutation (``gp.mutUniform`` with a grown tree of depth 0..2), a
length limit measured in the machine's tokens (an input leaf costs two, ``ci outb``), children
equal to a parent not evaluated again, and the budget in evaluations. deap varies the trees; each
tree is evaluated as its postfix translation into the machine's tokens (``and or not``, ``add sub
mul div``, an input leaf ``ci outb``, the constant ``c1``), so both baselines compute exactly the
same functions and differ only in the variation operators' implementation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metahook.evolution.gp_machine import GPMachine
from metahook.evolution.meta_gp import Problem, Settings
from metahook.machines.forth import assemble


def _never(*args: Any) -> Any:
    raise AssertionError("deap trees are evaluated on the machine, never compiled")


def _pset(problem: Problem) -> Any:
    from deap import gp

    k = problem.inputs.shape[1]
    ps = gp.PrimitiveSet("MAIN", k)
    if problem.kind == "parity":
        for name, ar in (("and_", 2), ("or_", 2), ("not_", 1)):
            ps.addPrimitive(_never, ar, name=name)
    else:
        for name in ("add", "sub", "mul", "div"):
            ps.addPrimitive(_never, 2, name=name)
        ps.addTerminal(1, name="one")
    return ps


def run_deap(problem: Problem, settings: Settings, rng: np.random.Generator) -> dict[str, Any]:
    """One run; the same summary keys as :meth:`MetaGP.summary` (those that apply)."""
    import random

    from deap import gp

    ps = _pset(problem)
    pyrng = random.Random(int(rng.integers(2**63)))
    state = random.getstate()
    random.seed(pyrng.random())  # deap draws from the random module
    try:
        return _loop(problem, settings, rng, ps, gp)
    finally:
        random.setstate(state)


def _loop(problem: Problem, s: Settings, rng: np.random.Generator, ps: Any, gp: Any
          ) -> dict[str, Any]:
    n = problem.cases
    evals = 0
    solved_at = 0

    machine = GPMachine()
    names = {"and_": "and", "or_": "or", "not_": "not", "add": "add", "sub": "sub",
             "mul": "mul", "div": "div", "one": "c1"}

    def to_tokens(tree: Any) -> np.ndarray:
        """The tree in postfix order as tokens of the machine (ARGi -> c(i+1) outb)."""
        out: list[str] = []

        def walk(k: int) -> int:
            node = tree[k]
            nxt = k + 1
            for _ in range(node.arity):
                nxt = walk(nxt)
            name = node.name
            out.append(f"c{int(name[3:]) + 1} outb" if name.startswith("ARG") else names[name])
            return nxt

        walk(0)
        return np.array(assemble(" ".join(out)), dtype=np.int64)

    def evaluate(progs: list[np.ndarray]) -> tuple[list[float], list[int]]:
        nonlocal evals, solved_at
        if not progs:
            return [], []
        outs, stops, _ = machine.evaluate(progs, problem.inputs, problem.max_steps)
        f, h = problem.score(outs, stops)
        first = np.flatnonzero(h == n)
        if first.size and not solved_at:
            solved_at = evals + int(first[0]) + 1
        evals += len(progs)
        return [float(v) for v in f], [int(v) for v in h]

    pop: list[Any] = []
    for k in range(50 * s.population + 50):  # the ramp of meta_gp.ramped (bounded the same)
        if len(pop) == s.population:
            break
        d = 2 + (k // 2) % 5
        # deap's genGrow(ps, d, d) chooses a leaf only at depth d: a full tree too (unlike
        # meta_gp.ramped's grow half; kept as deap's own ramp, see docs/meta_gp.md)
        gen = gp.genFull if k % 2 else gp.genGrow
        t = gp.PrimitiveTree(gen(ps, d, d))
        if len(to_tokens(t)) <= problem.max_len:
            pop.append(t)
    if len(pop) < s.population:
        raise ValueError(f"ramped: trees of depth 2..6 do not fit {problem.max_len} tokens")
    toks = [to_tokens(t) for t in pop]
    fit, hits = evaluate(toks)
    gens = 0
    while not solved_at and evals < s.evaluations:
        best = int(np.argmax(fit))
        left = s.evaluations - evals

        def tour(fit: list[float] = fit) -> int:
            idx = rng.integers(len(fit), size=s.tournament)
            return int(idx[np.argmax([fit[k] for k in idx])])

        kids: list[Any] = []
        kid_toks: list[np.ndarray] = []
        keep = [best]
        while len(kids) + len(keep) < len(pop) and len(kids) < left:
            i = tour()
            a = gp.PrimitiveTree(pop[i])
            j = i
            if rng.random() < s.crossover:
                j = tour()
                a, _ = gp.cxOnePoint(a, gp.PrimitiveTree(pop[j]))
            else:
                (a,) = gp.mutUniform(a, lambda pset, type_: gp.genGrow(
                    pset, 0, int(rng.integers(3)), type_), ps)
            ta = to_tokens(a)
            if len(ta) > problem.max_len or np.array_equal(ta, toks[i]):
                keep.append(i)
            elif np.array_equal(ta, toks[j]):
                keep.append(j)
            else:
                kids.append(a)
                kid_toks.append(ta)
        kf, kh = evaluate(kid_toks)
        pop = [pop[k] for k in keep] + kids
        toks = [toks[k] for k in keep] + kid_toks
        fit = [fit[k] for k in keep] + kf
        hits = [hits[k] for k in keep] + kh
        gens += 1
    b = int(np.argmax(fit))
    return {"solved": bool(solved_at), "evals_to_solve": solved_at, "evaluations": evals,
            "generations": gens, "best_fitness": float(fit[b]), "best_hits": int(hits[b]),
            "best_program": str(pop[b]), "rejections": {}}


__all__ = ["run_deap"]
