"""The SMP machine: numba fast path against the pure-Python reference, and its invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.machines.smp import EnvInstruction, InstructionSet, SMPParams, SMPState, fast
from metahook.machines.smp.reference import ReferenceSMP
from metahook.rsi.ssa import ssc_holds

ALL_GENERAL = ("Add", "Sub", "Mul", "Mov", "JumpHome", "Jump", "IncProb", "DecProb", "MoveDist",
               "GetP", "EndSelfMod", "PrepEval")
# a toy environment: "Pay(a1)" pays (a1 - 2)/10 and is a reward event when a1 is even;
# "Branch(a1)" jumps to slot a1 when the time is odd (a stand-in for a sensing instruction)
TOY_ENV = (EnvInstruction("Pay", 1, 0), EnvInstruction("Branch", 1, 1))


def _toy_env(action: int, a1: int, time: int) -> tuple[float, bool, int | None]:
    if action == 0:
        return (a1 - 2) / 10.0, a1 % 2 == 0, None
    return 0.0, False, (a1 if time % 2 else None)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    lam=st.floats(0.05, 0.6),
    minp=st.floats(1e-4, 0.05),
    n_work=st.integers(0, 16),
    eval_delay=st.integers(1, 3),
    sms_max_steps=st.integers(5, 500),
    ssa=st.booleans(),
    drop=st.integers(0, 5),
    eval_max_steps=st.integers(10, 2000),
)
def test_fast_path_matches_reference_bit_for_bit(
    seed: int, lam: float, minp: float, n_work: int, eval_delay: int, sms_max_steps: int,
    ssa: bool, drop: int, eval_max_steps: int,
) -> None:
    general = tuple(g for i, g in enumerate(ALL_GENERAL) if i != drop or g in ("IncProb",))
    iset = InstructionSet(general, TOY_ENV)
    minp = min(minp, 0.9 / iset.n_ops)
    params = SMPParams(n_cells=8 * iset.width, n_work=n_work, lam=lam, minp=minp,
                       eval_delay=eval_delay, prepeval_unit=1, sms_max_steps=sms_max_steps,
                       ssa=ssa, eval_max_steps=eval_max_steps)
    smp = SMPState(iset, params)
    ref = ReferenceSMP(iset, params.n_cells, n_work, lam, minp, eval_delay, 1, sms_max_steps, ssa,
                       eval_max_steps)
    rng = np.random.default_rng(seed)
    smp.c[:] = rng.integers(-3, 4, size=n_work).astype(float)
    ref.c = list(smp.c)
    u = rng.random(4 * 1500 + 8)
    upos = np.zeros(1, dtype=np.int64)
    out = np.zeros(4, dtype=np.int64)
    pos = 0
    for _ in range(1500):
        ev = smp.step(u, upos, out)
        name, ref_out, pos = ref.step(u, pos)
        assert int(upos[0]) == pos
        assert out.tolist() == ref_out
        assert (ev == fast.EV_ENV) == (name == "env")
        if ev == fast.EV_ENV:
            r, event, jump = _toy_env(int(out[0]), int(out[1]), smp.time)
            if jump is not None:
                smp.iregs[fast.IP] = (jump * iset.width) % params.n_cells
                ref.IP = (jump * iset.width) % params.n_cells
            assert smp.reward(r, event) == ref.reward(r, event)
        assert smp.iregs[fast.IP] == ref.IP
        assert smp.time == ref.time
        assert smp.R == ref.R
        assert np.array_equal(smp.P, np.array(ref.P))
        assert smp.c.tolist() == ref.c
    tags = smp.ssa.tag_list()
    assert tags.tolist() == [[b.v, b.Rv] for b in ref.stack]
    assert smp.ssa.n_entries == sum(len(b.saved) for b in ref.stack)
    assert smp.iregs[fast.N_INSTR] == 1500


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), lam=st.floats(0.05, 0.9), minp=st.floats(1e-4, 0.06))
def test_policy_stays_a_distribution_above_minp(seed: int, lam: float, minp: float) -> None:
    """PLAs keep every row summing to 1 and never push a probability below MinP (LTL97 s. 2)."""
    iset = InstructionSet(("IncProb", "DecProb", "MoveDist", "EndSelfMod", "JumpHome"))
    minp = min(minp, 0.9 / iset.n_ops)
    smp = SMPState(iset, SMPParams(n_cells=4 * iset.width, lam=lam, minp=minp, ssa=False,
                                   sms_max_steps=50))
    rng = np.random.default_rng(seed)
    u = rng.random(4 * 3000 + 8)
    upos = np.zeros(1, dtype=np.int64)
    out = np.zeros(4, dtype=np.int64)
    for _ in range(3000):
        smp.step(u, upos, out)
        smp.reward(0.0, True)
    assert np.allclose(smp.P.sum(axis=1), 1.0)
    assert smp.P.min() >= minp * (1 - 1e-12)
    assert smp.iregs[fast.N_MODS] > 0


def test_time_counts_one_step_per_distribution_scan() -> None:
    """Sampling an instruction and each argument, changing and pushing a row: one step each."""
    iset = InstructionSet(("IncProb", "JumpHome"))
    smp = SMPState(iset, SMPParams(n_cells=8, lam=0.5, minp=0.01, ssa=True))
    u = np.zeros(16)  # always the first code: IncProb(0, 0, 0) at IP=0
    upos = np.zeros(1, dtype=np.int64)
    out = np.zeros(4, dtype=np.int64)
    assert smp.step(u, upos, out) == fast.EV_NONE
    # 1 (instruction) + 3 (arguments) + 1 (push the old row) + 1 (change the row)
    assert smp.time == 6
    assert smp.P[0, 0] == pytest.approx(0.75) and smp.P[0, 1] == pytest.approx(0.25)
    assert smp.ssa.n_tags == 1 and smp.ssa.n_entries == 1


def test_ssa_undoes_a_self_modification_followed_by_slower_reward() -> None:
    iset = InstructionSet(("IncProb", "EndSelfMod", "JumpHome"))
    smp = SMPState(iset, SMPParams(n_cells=8, lam=0.5, minp=0.01, eval_delay=1, ssa=True))
    upos = np.zeros(1, dtype=np.int64)
    out = np.zeros(4, dtype=np.int64)
    smp.reward(10.0, False)  # a good past: 10 reward early in life
    before = smp.P.copy()
    # IncProb(0,0,0) at slot 0, then EndSelfMod at slot 1 (u=0.5 picks code 1 of 3)
    u = np.array([0.0, 0.0, 0.0, 0.0, 0.5, 0.9, 0.9, 0.9] + [0.9] * 8)
    smp.step(u, upos, out)
    smp.step(u, upos, out)
    assert smp.iregs[fast.MODS_ENABLED] == 0 and smp.iregs[fast.EVAL_COUNTDOWN] == 1
    assert not np.array_equal(smp.P, before)
    restored = smp.reward(0.0, True)  # no reward since the modification: slower than the life
    assert restored == 1 and np.array_equal(smp.P, before)
    assert smp.iregs[fast.MODS_ENABLED] == 1 and smp.ssa.n_tags == 0


def test_bad_parameters_are_rejected() -> None:
    iset = InstructionSet(("IncProb", "JumpHome"))
    with pytest.raises(ValueError, match="multiple"):
        SMPState(iset, SMPParams(n_cells=6))
    with pytest.raises(ValueError, match="minp"):
        SMPState(iset, SMPParams(n_cells=8, minp=0.6))
    with pytest.raises(ValueError, match="unknown SMP instructions"):
        InstructionSet(("IncProb", "Teleport"))


def _bandit_life(ssa: bool, seed: int, n: int = 200_000) -> np.ndarray:
    """An SMP paid 1 (a reward event) whenever it executes Pay(2); returns reward per step."""
    iset = InstructionSet(("JumpHome", "IncProb", "DecProb", "EndSelfMod"),
                          (EnvInstruction("Pay", 1, 0), EnvInstruction("Wait", 0, 1)))
    smp = SMPState(iset, SMPParams(n_cells=4 * iset.width, lam=0.3, minp=0.01, ssa=ssa,
                                   eval_delay=1, eval_max_steps=2000))
    rng = np.random.default_rng(seed)
    u = rng.random(4 * n + 8)
    upos = np.zeros(1, dtype=np.int64)
    out = np.zeros(4, dtype=np.int64)
    rew = np.zeros(n)
    for i in range(n):
        if smp.step(u, upos, out) == fast.EV_ENV and out[0] == 0 and out[1] == 2:
            calls = smp.iregs[fast.N_EVALS]
            restored = smp.reward(1.0, True)
            rew[i] = 1.0
            if ssa and smp.iregs[fast.N_EVALS] > calls and i % 97 == 0:
                # right after an SSA call the success-story criterion holds over the stack
                assert ssc_holds(smp.ssa.tag_list(), float(smp.time - restored), smp.R)
    return rew


def test_ssa_makes_self_modifications_pay_and_without_it_they_drift() -> None:
    """A random policy is paid 1/36 per instruction. With SSA the surviving self-modifications
    raise that well above chance; with SSA off the same PLAs wander and lose it."""
    for seed in range(2):
        on = _bandit_life(True, seed)
        off = _bandit_life(False, seed)
        assert on[-50_000:].mean() > 4 * (1 / 36)
        assert on[-50_000:].mean() > 1.2 * on[:20_000].mean()
        assert off[-50_000:].mean() < on[-50_000:].mean() / 5
