"""The Gödel machine switches only with a proof, and only when the switch pays (exact audits)."""

from __future__ import annotations

import random
from fractions import Fraction
from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.rsi.godel import isa
from metahook.rsi.godel.biops import Biops, Technique, make_techniques
from metahook.rsi.godel.hardware import Hardware
from metahook.rsi.godel.isa import Costs, Software
from metahook.rsi.godel.machine import Life, Setup, fixed_policy_reward, live

MEANS = (Fraction(1, 10), Fraction(1, 2), Fraction(9, 10))
BEST = (isa.SETPOL, 2, isa.SETSIG, 0)


def _setup(T: int = 100_000, **kw) -> Setup:
    return Setup(means=MEANS, T=T, **kw)


@cache
def _long_life() -> Life:
    return live(_setup(), np.random.default_rng(1))


def _only(hw: Hardware, techniques: list[Technique]) -> None:
    total = sum(t.prob for t in techniques)
    hw.biops = Biops([Technique(t.name, t.code, t.prob / total, t.cost, t.candidate, t.tactic)
                      for t in techniques], hw.c0)


def test_switches_when_a_proof_exists() -> None:
    life = _long_life()
    assert len(life.switches) == 1
    sw = life.switches[0]
    assert sw["switchprog"] == "SETPOL 2 SETSIG 0" and sw["technique"].startswith("direct")
    assert life.false_switches == 0
    assert sw["u1_lower"] <= sw["u1_exact"] and sw["u0_exact"] <= sw["u0_upper"]
    assert sw["u1_lower"] > sw["u0_upper"]  # what the target theorem says, at the true means
    unmod = live(_setup(), None, audit=False, allow_switch=False)
    assert life.expected_reward > unmod.expected_reward
    assert life.expected_reward > fixed_policy_reward(_setup(), (0,))
    assert life.expected_reward < fixed_policy_reward(_setup(), (2,))  # the oracle
    assert life.hardware.p == Software((2,), 0, (0,))  # the searcher switched itself off


def test_true_theorems_about_the_wrong_time_or_program_do_not_switch() -> None:
    hw = _long_life().hardware
    proven = [a["technique"].split("[")[0] for a in hw.stats.attempts if a["proven"]]
    assert {"hasty", "bluff", "direct"} <= set(proven)  # the target was proven three times...
    assert hw.stats.check_failures["too late for t1"] >= 1  # ...hasty: t1 had passed
    assert hw.stats.check_failures["state changed since the snapshot"] >= 1  # bluff
    assert len(hw.stats.switches) == 1  # ...but only the sound technique switched
    unsupported = [a for a in hw.stats.attempts if a["technique"].startswith("unsupported")]
    assert unsupported and not any(a["proven"] for a in unsupported)
    assert hw.stats.kernel_rejections == 0


def test_a_deliberately_wrong_rewrite_is_never_proven() -> None:
    """Rewrites that lose (worse arm, or keep searching) yield only unprovable target theorems."""
    hw = Hardware(_setup().axioms(), _setup().software(), rng=None)
    techs = make_techniques((0,), 3, Costs())
    wrong = [t for t in techs if t.tactic in ("direct", "hasty", "bluff")
             and t.candidate != BEST and t.candidate[:2] != (isa.SETPOL, 0)]
    _only(hw, wrong)
    hw.audit = None
    hw.run()
    assert hw.stats.attempts and not any(a["proven"] for a in hw.stats.attempts)
    assert not hw.stats.switches and hw.p == _setup().software()


class _LyingProver:
    """Claims a proof for every goal (garbage multipliers)."""

    calls = 0

    def __call__(self, premises, goal, rlimit, stats):
        self.calls += 1
        return [Fraction(1)] * len(premises)


def test_a_lying_prover_cannot_trigger_a_switch() -> None:
    liar = _LyingProver()
    life = live(_setup(T=60_000), None, prover=liar)
    assert liar.calls > 10
    assert life.hardware.stats.kernel_rejections == liar.calls
    assert not life.switches and life.hardware.stats.targets_proven == 0


def test_a_rewrite_is_declined_when_its_search_cost_exceeds_its_gain() -> None:
    t1 = _long_life().switches[0]["t1"]
    # lives that end soon after t1: the proof search has used up the time the rewrite needed
    for rest, should_switch in ((300, False), (600, False), (2000, True)):
        setup = _setup(T=t1 + rest)
        life = live(setup, None)
        attempts = [a for a in life.hardware.stats.attempts if a["technique"].startswith("direct")
                    and "SETPOL 2 SETSIG 0" in a["technique"]]
        assert attempts and attempts[0]["t1"] == t1
        assert bool(life.switches) == should_switch
        assert attempts[0]["proven"] == should_switch
        # exact gain of making that rewrite at t1 anyway, over continuing p unchanged
        unmod = live(setup, None, audit=False, allow_switch=False)
        times, arms, _ = unmod.hardware.pulls()
        before = unmod.hardware.expected_reward(np.bincount(arms[times <= t1], minlength=3))
        forced = before + Fraction(9, 10) * max(0, (setup.T - t1 - 600) // 10)
        assert (forced > unmod.expected_reward) == should_switch
        assert life.false_switches == 0


def test_fast_path_matches_the_step_by_step_reference() -> None:
    a = live(_setup(T=80_000), np.random.default_rng(5), audit=False)
    b = live(_setup(T=80_000), np.random.default_rng(5), audit=False, fast=False)
    for x, y in zip(a.hardware.pulls(), b.hardware.pulls(), strict=True):
        assert np.array_equal(x, y)
    assert a.reward == b.reward and a.expected_reward == b.expected_reward
    assert a.hardware.time == b.hardware.time == 80_000


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(0, 2), st.integers(0, 5000), st.integers(1000, 9000),
       st.integers(1, 40), st.sampled_from([0, 7, 60]))
def test_switch_axiom_counts_match_the_hardware(n_pol, arm, t1, rest, pull, sigma2) -> None:
    costs = Costs(pull=pull, write=25)
    policy = tuple((arm + i) % 3 for i in range(n_pol))
    setup = Setup(means=MEANS, T=t1 + rest, costs=costs, policy=policy, sigma=0)
    ax = setup.axioms()
    words = (isa.SETPOL, arm, isa.APPPOL, (arm + 1) % 3, isa.SETSIG, sigma2)
    hw = Hardware(ax, setup.software(), rng=None)
    hw.time, hw.switchprog = t1, words
    hw.cur = 0
    hw._switch(t1)
    before = hw.pull_counts.copy()
    hw.run()
    made = hw.pull_counts - before
    lower = ax.switch_lower_counts(t1, setup.software(), words)
    for k in range(3):
        assert made[k] >= lower.get(k, 0)
        if sigma2 == 0 and policy != (arm, (arm + 1) % 3):
            assert made[k] == lower.get(k, 0)  # exact when the new software does not search


def test_audited_bounds_hold_in_random_worlds() -> None:
    """Random means, costs, shares and initial policies: every proven bound holds exactly and no
    switch is false; most of these worlds do switch."""
    switched = 0
    for seed in range(10):
        r = random.Random(seed)
        means = (Fraction(r.randint(0, 3), 10),
                 *(Fraction(r.randint(0, 10), 10) for _ in range(2)))
        costs = Costs(write=r.choice([100, 300]), lin_base=r.choice([100, 400]),
                      pull=r.choice([5, 10]))
        setup = Setup(means=means, T=r.choice([60_000, 120_000]), costs=costs,
                      policy=r.choice([(0,), (0,), (0, 1), (1, 0, 0)]),
                      sigma=r.choice([20, 50, 120]), searcher=(r.randint(0, 1),))
        life = live(setup, None)
        assert life.false_switches == 0
        for sw in life.switches:
            assert sw["u1_lower"] <= sw["u1_exact"] and sw["u0_exact"] <= sw["u0_upper"]
        switched += bool(life.switches)
    assert switched >= 5


def _mutate(code: tuple[tuple[int, int], ...], r: random.Random) -> tuple[tuple[int, int], ...]:
    out = list(code)
    for _ in range(r.randint(1, 4)):
        i = r.randrange(len(out))
        kind = r.random()
        if kind < 0.3:
            op, arg = out[i]
            out[i] = (op, arg + r.choice([-1, 1, -2, 2, 8, -8]))
        elif kind < 0.5:
            del out[i]
        elif kind < 0.7:
            out.insert(i, (r.choice(sorted(isa.TECHNIQUE_OPS)), r.randint(0, 8)))
        else:
            j = r.randrange(len(out))
            out[i], out[j] = out[j], out[i]
        if not out:
            out = [(isa.HALT, 0)]
    return tuple(out)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31))
def test_mutated_techniques_never_crash_or_switch_falsely(seed) -> None:
    r = random.Random(seed)
    setup = _setup(T=30_000)
    hw = Hardware(setup.axioms(), setup.software(), rng=np.random.default_rng(seed))
    base = make_techniques((0,), 3, Costs())
    techs = []
    for i in range(6):
        t = r.choice(base)
        code = _mutate(t.code, r) if i else t.code
        techs.append(Technique(f"mutant{i}", code, 1.0, 30 * len(code) + 500, t.candidate,
                               t.tactic))
    _only(hw, techs)
    from metahook.rsi.godel.machine import _audit

    hw.audit = _audit
    hw.run()
    assert hw.time == setup.T
    for sw in hw.stats.switches:
        u1 = hw.expected_reward() - hw.expected_reward(sw["counts_at_t1"])
        assert u1 > sw["u0_exact"]


def test_same_seed_same_life() -> None:
    a = live(_setup(T=50_000), np.random.default_rng(3), audit=False)
    b = live(_setup(T=50_000), np.random.default_rng(3), audit=False)
    assert a.reward == b.reward and [s["t1"] for s in a.switches] == [s["t1"] for s in b.switches]


def test_invalid_switchprog_words_are_refused() -> None:
    assert isa.decode_switchprog(()) == ()
    assert isa.decode_switchprog((isa.SETPOL, 1)) == ((isa.SETPOL, 1),)
    for words in [(isa.SETPOL,), (99, 1), (isa.SETPOL, -1), (isa.PULL, 0)]:
        assert isa.decode_switchprog(words) is None
