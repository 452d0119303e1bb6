"""The axiom system: what the Gödel machine knows about its hardware, environment and goal.

Schmidhuber's axiom scheme (2003, sec. 3.1) has hardware axioms (how s changes, what instructions
cost), reward axioms, environment axioms, uncertainty axioms (arithmetic: here z3's linear real
arithmetic and our kernel's Farkas check), initial-state axioms (here ``state2theorem`` of the
current state) and utility axioms. Ours, for a Bernoulli bandit with known means μ_k over a life of
T cycles (utility: the expected reward collected in the cycles (t, T]):

- ``ENV``: ``mu[k] = μ_k`` for every arm and ``mu* = max_k μ_k`` (environment axioms);
- ``COST(op)``: ``cost[op] = c`` (hardware axioms; the cycle counts of :class:`~.isa.Costs`);
- ``LIFETIME``: ``T = value``;
- ``UTIL_SWITCH(t1)``: ∀ p, switchprog: ``policy@t1, sigma@t1, searcher@t1, switchprog@t1`` given
  → ``U1@t1 ≥ Σ_k a_k·mu[k]``, where a_k counts the pulls of arm k that the software written by
  switchprog is certain to make in (t1, T] (exact when it sets σ = 0; otherwise only the pulls
  before its own searcher could first switch, which is a lower bound because every later switch
  is itself backed by a true target theorem: the *veto lemma* in docs/godel.md);
- ``UTIL_CONT(t1)``: under the hypothesis ``in-check(t1)``: ∀ p: ``policy@t1, sigma@t1`` given
  → ``U0@t1 ≤ Σ_k b_k·mu[k] + B·mu*``: continuing p, no switch can happen before a fresh proof
  technique has spent :attr:`~.isa.Costs.c_min_proof` searcher cycles (at σ cycles per pull), so
  the first pulls still come from the current policy; every later pull is worth at most ``mu*``.

The counts a_k, b_k, B are computed here from the instruction costs: these functions *are* the
hardware and utility axioms of our machine, stated as counting lemmas rather than as one axiom per
cycle (see Deviations in docs/godel.md); tests check each of them against the hardware.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

import z3

from metahook.rsi.godel import isa
from metahook.rsi.godel.isa import Costs, Software
from metahook.rsi.godel.logic import (
    COMPONENTS,
    MU_MAX,
    Formula,
    Hyp,
    InCheck,
    Lin,
    LinCon,
    Schema,
    mu,
    u0,
    u1,
)

SWITCH_NEEDS = ("policy", "searcher", "sigma", "switchprog")
CONT_NEEDS = ("policy", "sigma")


def _cyclic_counts(policy: Sequence[int], n: int, start: int = 0) -> Counter[int]:
    """Pulls per arm among the first n pulls of a cyclic schedule started at ``start``."""
    counts: Counter[int] = Counter()
    if not policy or n <= 0:
        return counts
    q, r = divmod(n, len(policy))
    for arm in policy:
        counts[arm] += q
    for i in range(r):
        counts[policy[(start + i) % len(policy)]] += 1
    return counts


def _window_max_counts(policy: Sequence[int], n: int) -> Counter[int]:
    """Per arm, the most pulls of that arm in any n consecutive pulls of the cyclic schedule."""
    best: Counter[int] = Counter()
    if not policy or n <= 0:
        return best
    for start in range(len(policy)):
        for arm, c in _cyclic_counts(policy, n, start).items():
            best[arm] = max(best[arm], c)
    return best


def _window_min_counts(policy: Sequence[int], n: int) -> Counter[int]:
    """Per arm, the fewest pulls of that arm in any n consecutive pulls of the cyclic schedule."""
    worst: Counter[int] = Counter()
    if not policy or n <= 0:
        return worst
    for arm in set(policy):
        worst[arm] = min(_cyclic_counts(policy, n, s)[arm] for s in range(len(policy)))
    return worst


class AxiomSystem:
    """The axioms of one Gödel machine (environment means, lifetime, instruction costs)."""

    def __init__(self, means: Sequence[Fraction], T: int, costs: Costs) -> None:
        self.means = tuple(Fraction(m) for m in means)
        if not self.means or any(not 0 <= m <= 1 for m in self.means):
            raise ValueError("means must be probabilities, at least one arm")
        self.T = int(T)
        self.costs = costs
        self.mu_max = max(self.means)

    @property
    def n_arms(self) -> int:
        return len(self.means)

    # ------------------------------------------------------------------ lemmas (trusted)
    def search_delay(self, sigma: int, has_policy: bool) -> int:
        """Fewest cycles from a check-wait at t1 until another switch can happen (σ > 0)."""
        c = self.costs
        cmin = c.c_min_proof
        if not has_policy:
            return cmin
        slices = -(-cmin // (sigma + c.c_max - 1))
        return cmin + c.pull * max(0, slices - 1)

    def switch_lower_counts(self, t1: int, p: Software, words: tuple[int, ...]) -> Counter[int]:
        """Pulls per arm that p' = switchprog(p) surely makes in (t1, T] after a switch at t1."""
        code = isa.decode_switchprog(words)
        if code is None:
            return Counter()
        new, c_x = isa.apply_switchprog(code, p, self.n_arms, self.costs)
        rest = self.T - (t1 + c_x)
        if rest <= 0 or not new.policy:
            return Counter()
        if new.sigma <= 0:
            n = rest // self.costs.pull
        else:
            window = min(rest, self.search_delay(new.sigma, True))
            n = window // (self.costs.pull + new.sigma + self.costs.c_max - 1)
        if new.policy == p.policy:  # the policy runs on from wherever it was
            return _window_min_counts(new.policy, n)
        return _cyclic_counts(new.policy, n, 0)

    def continue_upper(self, t1: int, policy: tuple[int, ...], sigma: int
                       ) -> tuple[Counter[int], int]:
        """(per-arm pulls of the current policy, pulls of any arm) bounding U0@t1 from above."""
        rest = self.T - t1
        if rest <= 0:
            return Counter(), 0
        total = rest // self.costs.pull
        if not policy:
            any_arm = 0 if sigma <= 0 else max(
                0, -(-(rest - self.search_delay(sigma, False) - self.costs.write)
                     // self.costs.pull))
            return Counter(), min(any_arm, total)
        if sigma <= 0:
            return _window_max_counts(policy, total), 0
        window = self.search_delay(sigma, True) + self.costs.write
        after = max(0, -(-(rest - window) // self.costs.pull))
        any_arm = min(after, total)
        own = min(window // self.costs.pull, total - any_arm)
        return _window_max_counts(policy, own), any_arm

    # ------------------------------------------------------------------ schema instances
    def instantiate(self, schema: Schema, values: dict[str, tuple[int, ...]]) -> Lin:
        """The linear conclusion of a utility schema for the given state values (used by MP)."""
        t1 = schema.t1
        if schema.kind == "util_switch":
            p = Software(values["policy"], values["sigma"][0], values["searcher"])
            counts = self.switch_lower_counts(t1, p, values["switchprog"])
            terms: dict[str, Fraction | int] = {u1(t1): 1}
            for arm, c in counts.items():
                terms[mu(arm)] = -c
            return Lin((LinCon.make(terms, ">=", 0),))
        if schema.kind == "util_cont":
            own, any_arm = self.continue_upper(t1, values["policy"], values["sigma"][0])
            terms = {u0(t1): 1}
            for arm, c in own.items():
                terms[mu(arm)] = -c
            if any_arm:
                terms[MU_MAX] = -any_arm
            return Lin((LinCon.make(terms, "<=", 0),))
        raise ValueError(f"unknown schema {schema.kind!r}")

    def value(self, atom: str) -> Fraction:
        """The true value of an environment atom (``mu[k]`` or ``mu*``)."""
        if atom == MU_MAX:
            return self.mu_max
        if atom.startswith("mu[") and atom.endswith("]"):
            return self.means[int(atom[3:-1])]
        raise KeyError(atom)

    def env_facts(self) -> Lin:
        cons = [LinCon.make({mu(k): 1}, "=", m) for k, m in enumerate(self.means)]
        cons.append(LinCon.make({MU_MAX: 1}, "=", self.mu_max))
        return Lin(tuple(cons))

    def get_axiom(self, n: int) -> tuple[frozenset[Hyp], Formula] | None:
        """The n-th axiom (``get-axiom(n)``), or ``None`` if n numbers no axiom."""
        if n < 0:
            return None
        kind, param = n % isa.N_AXIOM_KINDS, n // isa.N_AXIOM_KINDS
        if kind == isa.ENV and param == 0:
            return frozenset(), self.env_facts()
        if kind == isa.UTIL_SWITCH:
            return frozenset(), Schema("util_switch", param, SWITCH_NEEDS)
        if kind == isa.UTIL_CONT:
            return frozenset({InCheck(param)}), Schema("util_cont", param, CONT_NEEDS)
        if kind == isa.COST and param in isa.NAMES:
            cost = self.static_cost(param)
            return frozenset(), Lin((LinCon.make({f"cost[{isa.NAMES[param]}]": 1}, "=", cost),))
        if kind == isa.LIFETIME and param == 0:
            return frozenset(), Lin((LinCon.make({"T": 1}, "=", self.T),))
        return None

    def static_cost(self, op: int) -> int:
        c = self.costs
        if op == isa.PULL:
            return c.pull
        if op in isa.SWITCHPROG_OPS:
            return c.write
        return c.technique_cost(op)

    # ------------------------------------------------------------------ the theory for z3
    def z3_theory(self, t1: int, p: Software, switchprog: tuple[int, ...]) -> list[z3.BoolRef]:
        """The axioms relevant to a switch at t1 as z3 formulas (environment, lifetime, costs,
        and the two utility axioms instantiated for the given state), for inspection and tests."""
        def q(x: Fraction) -> z3.ArithRef:
            return z3.Q(x.numerator, x.denominator)

        def expr(con: LinCon) -> z3.BoolRef:
            lhs = z3.Sum([z3.Real(a) * q(c) for a, c in con.coeffs])
            return {"<=": lhs <= q(con.rhs), "<": lhs < q(con.rhs),
                    "=": lhs == q(con.rhs)}[con.op]

        out = [expr(c) for c in self.env_facts().cons]
        out.append(z3.Int("T") == self.T)
        for op in sorted(isa.NAMES):
            out.append(z3.Int(f"cost[{isa.NAMES[op]}]") == self.static_cost(op))
        values = {"policy": p.policy, "sigma": (p.sigma,), "searcher": p.searcher,
                  "switchprog": switchprog}
        for kind, needs in (("util_switch", SWITCH_NEEDS), ("util_cont", CONT_NEEDS)):
            lin = self.instantiate(Schema(kind, t1, needs), {c: values[c] for c in needs})
            out.extend(expr(c) for c in lin.cons)
        return out


__all__ = ["COMPONENTS", "AxiomSystem"]
