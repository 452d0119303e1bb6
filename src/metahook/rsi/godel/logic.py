"""The formulas of the Gödel machine's proof calculus (Schmidhuber 2003, sec. 3.1; 2009).

Theorems are *sequents* ``H ⊢ φ``: ``H`` is a set of hypotheses about the machine at the time ``t1``
of a planned switch (which ``check()`` verifies against the real state before switching), and the
conclusion ``φ`` is one of:

- :class:`StateEq` ``comp@t = v``: component ``comp`` of the state ``s`` held value ``v`` at time
  ``t`` (produced by ``state2theorem``, moved forward in time by the frame rule);
- :class:`StateConj`: a conjunction of ``StateEq`` facts;
- :class:`Lin`: a conjunction of linear constraints over real-valued atoms with rational
  coefficients (``U1@t``, ``U0@t``, ``mu[k]``, ``mu*``, ``cost[...]``);
- :class:`Schema`: an axiom schema ``∀v̄. (∧ comp_i@t1 = v_i) → Lin(f(v̄))`` of the utility
  axioms; the function ``f`` belongs to the axiom system, and modus ponens instantiates it.

Glossary (paper → here): ``u[s(t1) ⊕ (switchbit(t1)='1'), Env(t1)]`` → atom ``U1@t1``;
``u[s(t1) ⊕ (switchbit(t1)='0'), Env(t1)]`` → atom ``U0@t1``; target theorem → the sequent
``H ⊢ U1@t1 − U0@t1 > 0`` (:func:`target_goal`).

Everything here is immutable and hashable plain data (ints, :class:`fractions.Fraction`, tuples),
so theorems can be compared, stored in the proof, and checkpointed as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Op = Literal["<=", "<", "="]

#: state components that ``state2theorem`` can read, by index (``state2theorem(m, n)`` reads m..n)
COMPONENTS: tuple[str, ...] = ("policy", "sigma", "searcher", "switchprog")


def u1(t: int) -> str:
    """Atom: expected utility from t to T if switchbit(t) = 1 (switchprog runs at t)."""
    return f"U1@{t}"


def u0(t: int) -> str:
    """Atom: expected utility from t to T if switchbit(t) = 0 (p keeps running, search included)."""
    return f"U0@{t}"


def mu(k: int) -> str:
    """Atom: the expected reward of one pull of arm k (environment axioms)."""
    return f"mu[{k}]"


MU_MAX = "mu*"


@dataclass(frozen=True)
class LinCon:
    """One linear constraint ``Σ coeffs[a]·a  op  rhs`` (``op`` one of ``<=``, ``<``, ``=``)."""

    coeffs: tuple[tuple[str, Fraction], ...]  # sorted by atom, no zero coefficients
    op: Op
    rhs: Fraction

    @staticmethod
    def make(terms: dict[str, Fraction | int], op: str, rhs: Fraction | int) -> LinCon:
        """Build a constraint; ``>=`` and ``>`` are turned into ``<=`` and ``<`` by negation."""
        clean = {a: Fraction(c) for a, c in terms.items() if Fraction(c) != 0}
        r = Fraction(rhs)
        if op in (">=", ">"):
            clean = {a: -c for a, c in clean.items()}
            r = -r
            op = "<=" if op == ">=" else "<"
        if op not in ("<=", "<", "="):
            raise ValueError(f"unknown relation {op!r}")
        return LinCon(tuple(sorted(clean.items())), op, r)  # type: ignore[arg-type]

    def atoms(self) -> set[str]:
        return {a for a, _ in self.coeffs}

    def holds(self, values: dict[str, Fraction]) -> bool:
        """Evaluate the constraint in a model (every atom must have a value)."""
        lhs = sum((c * values[a] for a, c in self.coeffs), Fraction(0))
        if self.op == "<=":
            return lhs <= self.rhs
        if self.op == "<":
            return lhs < self.rhs
        return lhs == self.rhs

    def __str__(self) -> str:
        parts = []
        for a, c in self.coeffs:
            sign = "-" if c < 0 else "+"
            mag = abs(c)
            parts.append(f"{sign} {'' if mag == 1 else str(mag) + '·'}{a}")
        lhs = " ".join(parts).lstrip("+ ") or "0"
        return f"{lhs} {self.op} {self.rhs}"


@dataclass(frozen=True)
class Lin:
    """A conjunction of linear constraints."""

    cons: tuple[LinCon, ...]

    def __str__(self) -> str:
        return " ∧ ".join(str(c) for c in self.cons) or "⊤"


@dataclass(frozen=True)
class StateEq:
    """``comp@t = value``: component ``comp`` of s had ``value`` at time ``t``."""

    comp: str
    t: int
    value: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.comp}@{self.t} = {list(self.value)}"


@dataclass(frozen=True)
class StateConj:
    """A conjunction of :class:`StateEq` facts, sorted by component."""

    items: tuple[StateEq, ...]

    def get(self, comp: str, t: int) -> StateEq | None:
        for item in self.items:
            if item.comp == comp and item.t == t:
                return item
        return None

    def __str__(self) -> str:
        return " ∧ ".join(str(i) for i in self.items)


@dataclass(frozen=True)
class Schema:
    """``∀v̄. (∧_{c in needs} c@t1 = v_c) → Lin(f_kind(v̄, t1))`` (a utility axiom schema)."""

    kind: str
    t1: int
    needs: tuple[str, ...]

    def __str__(self) -> str:
        ante = " ∧ ".join(f"{c}@{self.t1} = v_{c}" for c in self.needs)
        return f"∀v. {ante} → {self.kind}(v, {self.t1})"


Formula = Lin | StateEq | StateConj | Schema


@dataclass(frozen=True)
class Quiet:
    """Hypothesis: component ``comp`` was not written during the cycles (t_s, t1]."""

    comp: str
    t_s: int
    t1: int

    def __str__(self) -> str:
        return f"quiet({self.comp}, {self.t_s}, {self.t1})"


@dataclass(frozen=True)
class InCheck:
    """Hypothesis: at t1 the machine waits inside ``check()`` of a proof technique whose next
    instruction ends it (so a fresh technique, with an empty proof, must run before any further
    switch)."""

    t1: int

    def __str__(self) -> str:
        return f"in-check({self.t1})"


Hyp = Quiet | InCheck


def target_goal(t1: int) -> LinCon:
    """The target theorem's conclusion ``U1@t1 − U0@t1 > 0`` (stored as ``U0 − U1 < 0``)."""
    return LinCon.make({u1(t1): 1, u0(t1): -1}, ">", 0)


def show_hyps(hyps: frozenset[Hyp]) -> str:
    return ", ".join(sorted(str(h) for h in hyps))
