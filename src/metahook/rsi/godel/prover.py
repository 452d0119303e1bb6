"""z3 behind ``apply-rule``'s linear-arithmetic rule: it finds the proof, the kernel checks it.

For premises ``a_i·x op_i b_i`` and a goal ``g·x op d``, z3 searches for Farkas multipliers λ
(a model of the dual system: λ_i ≥ 0 on inequalities, Σλ_i a_i = g, Σλ_i b_i ≤ d, strictness
tracked), i.e. a linear-arithmetic proof of the goal. By Farkas' lemma (Motzkin's form for strict
inequalities) such multipliers exist exactly when the premises entail the goal over the reals, so
the search is complete; :func:`metahook.rsi.godel.kernel.check_farkas` re-checks whatever z3 returns
in exact rationals. ``entails`` is the primal question (premises ∧ ¬goal unsatisfiable), used by
the tests as an independent oracle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import z3

from metahook.rsi.godel.logic import LinCon


def _q(x: Fraction) -> z3.ArithRef:
    return z3.Q(x.numerator, x.denominator)


def _as_fraction(v: z3.ExprRef) -> Fraction:
    assert isinstance(v, z3.RatNumRef)
    f = v.as_fraction()
    return Fraction(f.numerator, f.denominator)


@dataclass
class ProverStats:
    """What z3 was asked and how much work it did: ``rlimit`` sums what each call added to z3's
    resource counter. That counter is deterministic for a fresh z3 context but shifts by a few
    units with what the process's context did before, so ``rlimit`` is a measurement (like a
    clock), not part of a life's outcome; ``calls`` and ``found`` are exact."""

    calls: int = 0
    found: int = 0
    rlimit: int = 0


def _rlimit_used(solver: z3.Solver) -> int:
    """z3's resource counter; it counts for the whole z3 context, so a call's work is the
    difference of two readings."""
    stats = solver.statistics()
    for key in stats.keys():  # noqa: SIM118 (z3's Statistics is not a dict)
        if key == "rlimit count":
            return int(stats.get_key_value(key))
    return 0


def find_certificate(
    premises: Sequence[LinCon], goal: LinCon, rlimit: int = 2_000_000,
    stats: ProverStats | None = None,
) -> list[Fraction] | None:
    """Farkas multipliers proving ``premises ⊨ goal``, or ``None`` if z3 finds none."""
    if goal.op == "=":
        return None
    for contradiction in (False, True):
        solver = z3.Solver()
        solver.set("rlimit", rlimit)
        start = _rlimit_used(solver)
        lam = [z3.Real(f"lam{i}") for i in range(len(premises))]
        for i, con in enumerate(premises):
            if con.op != "=":
                solver.add(lam[i] >= 0)
        atoms = sorted(set().union(*(c.atoms() for c in premises), goal.atoms()))
        target = {} if contradiction else dict(goal.coeffs)
        for atom in atoms:
            terms = [lam[i] * _q(c) for i, con in enumerate(premises)
                     for a, c in con.coeffs if a == atom]
            solver.add(z3.Sum(terms) == _q(target.get(atom, Fraction(0))) if terms
                       else _q(target.get(atom, Fraction(0))) == 0)
        rhs = z3.Sum([lam[i] * _q(con.rhs) for i, con in enumerate(premises)]) if premises \
            else z3.RealVal(0)
        strict = [lam[i] for i, con in enumerate(premises) if con.op == "<"]
        strict_pos = z3.Sum(strict) > 0 if strict else z3.BoolVal(False)
        bound = Fraction(0) if contradiction else goal.rhs
        if goal.op == "<=" and not contradiction:
            solver.add(rhs <= _q(bound))
        else:
            solver.add(z3.Or(rhs < _q(bound), z3.And(rhs == _q(bound), strict_pos)))
        result = solver.check()
        if stats is not None:
            stats.calls += 1
            stats.rlimit += _rlimit_used(solver) - start
        if result == z3.sat:
            model = solver.model()
            cert = [_as_fraction(model.eval(v, model_completion=True)) for v in lam]
            if stats is not None:
                stats.found += 1
            return cert
    return None


def entails(premises: Sequence[LinCon], goal: LinCon) -> bool:
    """Primal check: is ``premises ∧ ¬goal`` unsatisfiable over the reals?"""
    atoms = sorted(set().union(*(c.atoms() for c in premises), goal.atoms()))
    var = {a: z3.Real(a) for a in atoms}

    def expr(con: LinCon) -> z3.BoolRef:
        lhs = z3.Sum([var[a] * _q(c) for a, c in con.coeffs]) if con.coeffs else z3.RealVal(0)
        if con.op == "<=":
            return lhs <= _q(con.rhs)
        if con.op == "<":
            return lhs < _q(con.rhs)
        return lhs == _q(con.rhs)

    solver = z3.Solver()
    for con in premises:
        solver.add(expr(con))
    solver.add(z3.Not(expr(goal)))
    return solver.check() == z3.unsat
