"""One life of a Gödel machine on a bandit, with an exact audit of every self-rewrite.

:class:`Machine` is one life under the stepping contract: ``advance(cycles)`` runs a budget of
machine cycles and returns the events, ``state_dict()`` / ``load_state_dict()`` checkpoint it, and
``life()`` gives the outcome once T is reached. :func:`live` runs a life to T in one go. Every
switch is audited outside the machine (the machine never sees the audit): at the switch time t1 the
hardware is cloned into the counterfactual state ``s(t1) ⊕ (switchbit = 0)`` and run to T in
expected mode, which gives the exact ``u[s(t1) ⊕ 0]``; the real life gives the exact
``u[s(t1) ⊕ 1]`` (decisions do not depend on rewards, so both are sums of known means). A switch is
*false* when ``u1 ≤ u0``: the Global Optimality Theorem says a sound machine never makes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from metahook.rsi.godel.axioms import AxiomSystem
from metahook.rsi.godel.hardware import Hardware, Prover, default_prover
from metahook.rsi.godel.isa import Costs, Software
from metahook.rsi.godel.logic import Lin, u0, u1


@dataclass(frozen=True)
class Setup:
    """A machine and its world: means of the arms, lifetime, costs, initial software."""

    means: tuple[Fraction, ...]
    T: int
    costs: Costs = field(default_factory=Costs)
    policy: tuple[int, ...] = (0,)
    sigma: int = 50
    searcher: tuple[int, ...] = (0,)
    c0: float = 1.0
    start_time: int = 0

    def axioms(self) -> AxiomSystem:
        return AxiomSystem(self.means, self.T, self.costs)

    def software(self) -> Software:
        return Software(self.policy, self.sigma, self.searcher)


@dataclass
class Life:
    """The outcome of one life."""

    hardware: Hardware
    switches: list[dict[str, Any]]
    expected_reward: Fraction
    reward: int

    @property
    def false_switches(self) -> int:
        return sum(1 for s in self.switches if not s["u1_exact"] > s["u0_exact"])


def _audit(hw: Hardware, t1: int) -> dict[str, Any]:
    cf = hw.clone()
    cf.rng = None
    cf.switchbit = 0
    base = hw.expected_reward()
    cf.run()
    u0_exact = cf.expected_reward() - base
    th = hw.proof[-1]
    bounds = {}
    for other in hw.proof:  # the proven bounds U1@t1 >= Σ a·mu, U0@t1 <= Σ b·mu (at the true means)
        c = other.concl
        if isinstance(c, Lin) and len(c.cons) == 1:
            terms = dict(c.cons[0].coeffs)
            for key, atom in (("u1_lower", u1(t1)), ("u0_upper", u0(t1))):
                others = [a for a in terms if a != atom]
                if atom in terms and others and all(a.startswith("mu") for a in others):
                    rest = sum((-v / terms[atom] * hw.ax.value(a)) for a, v in terms.items()
                               if a != atom)
                    bounds[key] = rest
    return {"u0_exact": u0_exact, "hyps": sorted(str(h) for h in th.hyps),
            "cf_switches": len(cf.stats.switches), **bounds}


class Machine:
    """One life of the machine of ``setup``, advanced in machine cycles and checkpointable.

    ``rng`` draws the rewards (``None``: expected mode); ``audit`` audits every switch exactly
    (outside the machine); ``allow_switch=False`` gives the unmodified machine, whose ``check()``
    never switches. A fresh ``Machine`` built with the same arguments continues a saved life
    after ``load_state_dict`` exactly as the saved one would have gone on.
    """

    def __init__(self, setup: Setup, rng: np.random.Generator | None, *, audit: bool = True,
                 allow_switch: bool = True, prover: Prover = default_prover,
                 fast: bool = True) -> None:
        self.setup = setup
        self.hardware = Hardware(setup.axioms(), setup.software(), rng=rng, c0=setup.c0,
                                 prover=prover, fast=fast, start_time=setup.start_time)
        self.hardware.allow_switch = allow_switch
        if audit:
            self.hardware.audit = _audit

    @property
    def time(self) -> int:
        """The cycle counter."""
        return self.hardware.time

    @property
    def finished(self) -> bool:
        """The life has reached T."""
        return self.hardware.finished

    def advance(self, cycles: int) -> list[dict[str, Any]]:
        """Run at most ``cycles`` more machine cycles (the last instruction may overrun; see
        :meth:`Hardware.advance`) and return the events: proofs, refusals, switches, the end."""
        return self.hardware.advance(cycles)

    def run(self) -> Life:
        """Run the rest of the life and return its outcome."""
        self.hardware.run()
        return self.life()

    def life(self) -> Life:
        """The outcome of the finished life (every audited switch gets its exact u1)."""
        hw = self.hardware
        if not hw.finished:
            raise RuntimeError(f"the life is at cycle {hw.time} of {hw.T}")
        total = hw.expected_reward()
        for s in hw.stats.switches:
            if "u0_exact" in s:
                s["u1_exact"] = total - hw.expected_reward(s["counts_at_t1"])
        return Life(hw, hw.stats.switches, total, hw.reward)

    def state_dict(self) -> dict[str, Any]:
        return {"hardware": self.hardware.state_dict()}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.hardware.load_state_dict(st["hardware"])


def live(setup: Setup, rng: np.random.Generator | None, *, audit: bool = True,
         allow_switch: bool = True, prover: Prover = default_prover,
         fast: bool = True) -> Life:
    """Run one life from ``setup.start_time`` to T."""
    return Machine(setup, rng, audit=audit, allow_switch=allow_switch, prover=prover,
                   fast=fast).run()


def fixed_policy_reward(setup: Setup, policy: tuple[int, ...]) -> Fraction:
    """Exact expected reward of running ``policy`` alone (no proof search) from start to T."""
    n = (setup.T - setup.start_time) // setup.costs.pull
    q, r = divmod(n, len(policy))
    total = Fraction(0)
    for i, arm in enumerate(policy):
        total += setup.means[arm] * (q + (1 if i < r else 0))
    return total
