"""The trusted kernel: the only code that can create a :class:`Theorem` (LCF style).

The Gödel machine's proof store may only grow by the paper's instructions (Schmidhuber 2003,
sec. 3.1): ``get-axiom`` appends an axiom, ``state2theorem`` a time-labelled fact about the current
state, ``apply-rule`` the result of an inference rule applied to stored theorems. Each of these goes
through this module, so no incorrect theorem can enter the store as long as (a) the axioms are true
and (b) the rules below are sound. The rules are small enough to read:

- ``mp``: from ``H1 ⊢ ∧ c@t1 = v_c`` and ``H2 ⊢ ∀v̄. (∧ c@t1 = v_c) → L(v̄)`` infer
  ``H1 ∪ H2 ⊢ L(v̄)``;
- ``conj``: from ``H1 ⊢ A`` and ``H2 ⊢ B`` infer ``H1 ∪ H2 ⊢ A ∧ B`` (state facts or linear facts);
- ``frame``: from ``H ⊢ c@t_s = v`` infer ``H ∪ {quiet(c, t_s, t1)} ⊢ c@t1 = v`` for t1 ≥ t_s
  (sound: a component nobody wrote keeps its value; ``check()`` verifies ``quiet`` before a switch);
- ``lin``: from ``H1 ⊢ L1`` and ``H2 ⊢ L2`` infer ``H1 ∪ H2 ⊢ g`` for a linear goal ``g``, given a
  Farkas certificate: multipliers λ (λ ≥ 0 on inequalities) with Σλ·lhs = lhs(g) and Σλ·rhs ≤ rhs(g)
  (strictly, or with a strict premise of positive weight, when g is strict). The certificate comes
  from z3 (:mod:`.prover`); this module re-checks it in exact rational arithmetic and trusts
  nothing z3 says.

Every theorem remembers how the kernel made it (its *derivation*: the rule, the rule's data and the
premise theorems). :meth:`Kernel.export_theorems` writes a proof store as checkpoint data (a list
of derivation steps, each naming its premises by number) and :meth:`Kernel.import_theorems`
rebuilds it by applying the same rules again, re-checking every Farkas certificate, so a checkpoint
can hold a proof store without pickling theorems or bypassing the kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from metahook.rsi.godel.logic import (
    Formula,
    Hyp,
    Lin,
    LinCon,
    Quiet,
    Schema,
    StateConj,
    StateEq,
)

_TOKEN = object()


class KernelError(Exception):
    """A rule was not applicable (the caller's technique halts with this reason)."""


#: how a theorem was made: rule name, the rule's data (checkpoint data), premise theorems
Derivation = tuple[str, dict[str, Any], tuple["Theorem", ...]]


class Theorem:
    """A proven sequent ``hyps ⊢ concl``. Only this module can construct one."""

    __slots__ = ("concl", "derivation", "hyps")

    def __init__(self, hyps: frozenset[Hyp], concl: Formula, _token: object = None,
                 derivation: Derivation | None = None) -> None:
        if _token is not _TOKEN:
            raise TypeError("theorems are created by the kernel only")
        self.hyps = hyps
        self.concl = concl
        # (rule, the rule's data, premise theorems)
        self.derivation: Derivation = derivation or ("", {}, ())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Theorem) and (self.hyps, self.concl) == (other.hyps, other.concl)

    def __hash__(self) -> int:
        return hash((self.hyps, self.concl))

    def __repr__(self) -> str:
        from metahook.rsi.godel.logic import show_hyps

        return f"{show_hyps(self.hyps)} ⊢ {self.concl}"


def _mk(hyps: frozenset[Hyp], concl: Formula, rule: str, data: dict[str, Any],
        premises: tuple[Theorem, ...] = ()) -> Theorem:
    return Theorem(hyps, concl, _TOKEN, (rule, data, premises))


# ---------------------------------------------------------------------------- checkpoint data
def _frac(x: str) -> Fraction:
    return Fraction(x)


def lincon_data(con: LinCon) -> dict[str, Any]:
    """A linear constraint as checkpoint data (rationals as strings ``"n/d"``)."""
    return {"coeffs": [[a, str(c)] for a, c in con.coeffs], "op": con.op, "rhs": str(con.rhs)}


def lincon_from_data(d: dict[str, Any]) -> LinCon:
    return LinCon(tuple((str(a), _frac(c)) for a, c in d["coeffs"]), d["op"], _frac(d["rhs"]))


# ---------------------------------------------------------------------------- Farkas certificates
def check_farkas(premises: Sequence[LinCon], goal: LinCon, lam: Sequence[Fraction]) -> bool:
    """Does ``lam`` certify ``premises ⊨ goal`` over the ordered field of rationals/reals?

    Either Σλ_i·lhs_i = lhs(goal) with Σλ_i·rhs_i ≤ rhs(goal) (strict goal: < , or = with some
    strict premise of positive weight), or the premises are contradictory: Σλ_i·lhs_i = 0 with
    Σλ_i·rhs_i < 0 (or = 0 with a strict premise of positive weight).
    """
    if len(lam) != len(premises) or goal.op == "=":
        return False
    lhs: dict[str, Fraction] = {}
    rhs = Fraction(0)
    strict_used = False
    for con, weight in zip(premises, lam, strict=True):
        w = Fraction(weight)
        if con.op != "=" and w < 0:
            return False
        if w == 0:
            continue
        for atom, c in con.coeffs:
            lhs[atom] = lhs.get(atom, Fraction(0)) + w * c
        rhs += w * con.rhs
        strict_used = strict_used or con.op == "<"
    combo = {a: c for a, c in lhs.items() if c != 0}
    if not combo and (rhs < 0 or (rhs == 0 and strict_used)):
        return True  # contradictory premises entail anything
    if combo != dict(goal.coeffs):
        return False
    if goal.op == "<=":
        return rhs <= goal.rhs
    return rhs < goal.rhs or (rhs == goal.rhs and strict_used)


# ---------------------------------------------------------------------------- the kernel
class Kernel:
    """Creates theorems: axioms (from a trusted axiom source), state facts, and rule results.

    ``axiom_source(n)`` returns the n-th axiom as ``(hyps, formula)`` or ``None``;
    ``instantiate(schema, facts)`` returns the linear conclusion of a schema for the given values.
    Both belong to the axiom system (:mod:`.axioms`), whose truth the tests check against the
    hardware.
    """

    def __init__(
        self,
        axiom_source: Callable[[int], tuple[frozenset[Hyp], Formula] | None],
        instantiate: Callable[[Schema, dict[str, tuple[int, ...]]], Lin],
    ) -> None:
        self._axiom_source = axiom_source
        self._instantiate = instantiate

    def get_axiom(self, n: int) -> Theorem:
        found = self._axiom_source(n)
        if found is None:
            raise KernelError(f"no axiom number {n}")
        hyps, formula = found
        return _mk(hyps, formula, "axiom", {"n": int(n)})

    def state_fact(self, facts: Sequence[StateEq]) -> Theorem:
        """``state2theorem``: the hardware passes what it read from s at the current time."""
        if not facts:
            raise KernelError("state2theorem of an empty range")
        data = {"facts": [[f.comp, f.t, list(f.value)] for f in facts]}
        if len(facts) == 1:
            return _mk(frozenset(), facts[0], "state", data)
        return _mk(frozenset(), StateConj(tuple(sorted(facts, key=lambda f: f.comp))), "state",
                   data)

    # ------------------------------------------------------------------ rules
    def mp(self, a: Theorem, b: Theorem) -> Theorem:
        if not isinstance(b.concl, Schema):
            raise KernelError("mp: second theorem is not an axiom schema")
        schema = b.concl
        items = a.concl.items if isinstance(a.concl, StateConj) else (a.concl,)
        if not all(isinstance(i, StateEq) for i in items):
            raise KernelError("mp: first theorem is not a state fact")
        values: dict[str, tuple[int, ...]] = {}
        for item in items:
            assert isinstance(item, StateEq)
            if item.t == schema.t1:
                values[item.comp] = item.value
        missing = [c for c in schema.needs if c not in values]
        if missing:
            raise KernelError(f"mp: antecedent needs {missing} at t={schema.t1}")
        concl = self._instantiate(schema, {c: values[c] for c in schema.needs})
        return _mk(a.hyps | b.hyps, concl, "mp", {}, (a, b))

    def conj(self, a: Theorem, b: Theorem) -> Theorem:
        ca, cb = a.concl, b.concl
        if isinstance(ca, Lin) and isinstance(cb, Lin):
            return _mk(a.hyps | b.hyps, Lin(ca.cons + cb.cons), "conj", {}, (a, b))
        state_a = ca.items if isinstance(ca, StateConj) else (ca,)
        state_b = cb.items if isinstance(cb, StateConj) else (cb,)
        items = [i for i in state_a + state_b if isinstance(i, StateEq)]
        if len(items) == len(state_a) + len(state_b):
            keyed = {(i.comp, i.t): i for i in items}
            if len(keyed) != len(items):
                raise KernelError("conj: a component appears twice")
            ordered = tuple(sorted(keyed.values(), key=lambda f: (f.t, f.comp)))
            return _mk(a.hyps | b.hyps, StateConj(ordered), "conj", {}, (a, b))
        raise KernelError("conj: needs two linear facts or two state facts")

    def frame(self, a: Theorem, t1: int) -> Theorem:
        ca = a.concl
        items = ca.items if isinstance(ca, StateConj) else (ca,)
        if not all(isinstance(i, StateEq) for i in items):
            raise KernelError("frame: not a state fact")
        moved = []
        hyps = set(a.hyps)
        for item in items:
            assert isinstance(item, StateEq)
            if t1 < item.t:
                raise KernelError("frame: t1 lies before the fact's time")
            hyps.add(Quiet(item.comp, item.t, t1))
            moved.append(StateEq(item.comp, t1, item.value))
        concl: Formula = moved[0] if len(moved) == 1 else StateConj(tuple(moved))
        return _mk(frozenset(hyps), concl, "frame", {"t1": int(t1)}, (a,))

    def lin(self, a: Theorem, b: Theorem, goal: LinCon, certificate: Sequence[Fraction]) -> Theorem:
        if not (isinstance(a.concl, Lin) and isinstance(b.concl, Lin)):
            raise KernelError("lin: premises must be linear facts")
        premises = a.concl.cons + b.concl.cons
        if not check_farkas(premises, goal, certificate):
            raise KernelError("lin: certificate rejected by the kernel")
        data = {"goal": lincon_data(goal), "certificate": [str(Fraction(x)) for x in certificate]}
        return _mk(a.hyps | b.hyps, Lin((goal,)), "lin", data, (a, b))

    # ------------------------------------------------------------------ checkpoints
    @staticmethod
    def export_theorems(theorems: Sequence[Theorem]) -> dict[str, Any]:
        """A proof store as checkpoint data: ``steps`` (every theorem it was derived from, in an
        order where premises come first: rule, data, premise numbers) and ``store`` (the step
        number of each theorem of ``theorems``)."""
        steps: list[dict[str, Any]] = []
        number: dict[int, int] = {}
        keep: list[Theorem] = []  # holds the theorems so that their ids stay unique

        def visit(th: Theorem) -> int:
            if id(th) not in number:
                rule, data, premises = th.derivation
                if not rule:
                    raise KernelError("export: a theorem without derivation")
                of = [visit(p) for p in premises]
                steps.append({"rule": rule, "data": data, "of": of})
                number[id(th)] = len(steps) - 1
                keep.append(th)
            return number[id(th)]

        return {"steps": steps, "store": [visit(th) for th in theorems]}

    def import_theorems(self, data: dict[str, Any]) -> list[Theorem]:
        """Rebuild a proof store written by :meth:`export_theorems` by applying its rules again
        (state facts are taken as the checkpointed hardware read them; every certificate is
        checked again). Raises :class:`KernelError` if a step does not go through."""
        made: list[Theorem] = []
        for step in data["steps"]:
            rule, d = str(step["rule"]), step["data"]
            of = [made[int(i)] for i in step["of"]]
            if rule == "axiom":
                th = self.get_axiom(int(d["n"]))
            elif rule == "state":
                th = self.state_fact([StateEq(str(c), int(t), tuple(int(v) for v in vals))
                                      for c, t, vals in d["facts"]])
            elif rule == "mp":
                th = self.mp(*of)
            elif rule == "conj":
                th = self.conj(*of)
            elif rule == "frame":
                th = self.frame(of[0], int(d["t1"]))
            elif rule == "lin":
                th = self.lin(of[0], of[1], lincon_from_data(d["goal"]),
                              [_frac(x) for x in d["certificate"]])
            else:
                raise KernelError(f"import: unknown rule {rule!r}")
            made.append(th)
        return [made[int(i)] for i in data["store"]]
