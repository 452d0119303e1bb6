"""The two-brains machine (curiosity-two-brains): veto, zero-sum bets, the reference, seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metahook.core.seeding import rng_for
from metahook.curiosity import two_brains as tb
from metahook.curiosity.two_brains import TwoBrains, TwoBrainsParams
from metahook.curiosity.two_brains_reference import ReferenceTwoBrains
from resume_helpers import check_killed_and_resumed


def test_a_zero_in_either_module_vetoes_a_value() -> None:
    LR = np.zeros((2, 1, tb.N_OPS))
    LR[0, 0, [1, 2, 5]] = [0.2, 0.3, 0.5]  # LEFT supports 1, 2, 5
    LR[1, 0, [2, 3, 5]] = [0.6, 0.3, 0.1]  # RIGHT supports 2, 3, 5
    draws = {tb.sample_joint(LR, 0, u) for u in np.linspace(0.0, 0.999999, 2001)}
    assert draws == {2, 5}
    # in proportion to the product: 0.3 * 0.6 = 0.18 against 0.5 * 0.1 = 0.05
    assert tb.sample_joint(LR, 0, 0.18 / 0.23 - 1e-9) == 2
    assert tb.sample_joint(LR, 0, 0.18 / 0.23 + 1e-9) == 5


def _betting_machine(curious: bool, left_value: int, right_value: int) -> TwoBrains:
    """A machine whose slot 0 is Bet!(S[3], S[4]) with fixed bets from column 3."""
    m = TwoBrains(TwoBrainsParams(n_cols=8, curious=curious), rng_for("bet", 0))
    m.LR[:, :4] = 0.0
    m.LR[:, 0, tb.BET] = 1.0
    m.LR[:, 1, 3] = 1.0
    m.LR[:, 2, 4] = 1.0
    m.LR[0, 3, left_value] = 1.0
    m.LR[1, 3, right_value] = 1.0
    return m


@pytest.mark.parametrize("equal", [True, False])
def test_bets_pay_plus_one_and_minus_one_and_sum_to_zero(equal: bool) -> None:
    m = _betting_machine(True, tb.N_OPS - 1, 0)  # LEFT bets "equal" (c = 1), RIGHT "unequal"
    m.S[4] = 0 if equal else 3
    m.advance(1)
    left = 1.0 if equal else -1.0
    np.testing.assert_array_equal(m.fregs[:, tb.R_SURPRISE], [left, -left])
    np.testing.assert_array_equal(m.fregs[:, tb.R_CUM], [left, -left])
    assert m.stats()["bets"] == 1 and m.S[tb.SURPRISE_CELL] == 1
    assert m.time == 1 + 2 + 2  # the instruction, its two arguments, the two bets


def test_agreeing_modules_do_not_bet_and_the_baseline_pays_nothing() -> None:
    agree = _betting_machine(True, 0, 1)  # both bet "unequal"
    agree.advance(1)
    assert agree.stats()["bets"] == 0 and agree.stats()["bets_agreed"] == 1
    assert not agree.fregs.any()
    plain = _betting_machine(False, tb.N_OPS - 1, 0)
    plain.advance(1)
    assert plain.stats()["bets"] == 1 and not plain.fregs.any()


def test_surprise_rewards_sum_to_zero_over_a_life() -> None:
    m = TwoBrains(TwoBrainsParams(grid=4), rng_for("life", 3))
    m.advance(300_000)
    st = m.stats()
    assert st["bets"] > 100 and st["surprise"][0] == -st["surprise"][1] != 0
    ext = m.fregs[:, tb.R_EXT]
    assert ext[0] == ext[1] == 0.5 * st["goals"]
    np.testing.assert_allclose(m.fregs[:, tb.R_CUM], ext + m.fregs[:, tb.R_SURPRISE])


@pytest.mark.parametrize("params", [
    TwoBrainsParams(n_cols=16, grid=3),
    TwoBrainsParams(n_cols=16, grid=3, curious=False, eval_max_steps=500, sms_max_steps=300),
    TwoBrainsParams(n_cols=24, grid=4, eval_delay=2, M=3, n_state=5, lam=0.5),
])
def test_the_compiled_loop_is_the_reference(params: TwoBrainsParams) -> None:
    rng = np.random.default_rng(7)
    u = rng.random(200_000)
    fast = TwoBrains(params, rng_for("unused", 0))
    fast.u, fast.upos[0] = u.copy(), 0
    ref = ReferenceTwoBrains(params, u)
    for t_end in range(2_000, 30_001, 2_000):
        fast.advance(t_end - fast.time)
        ref.run(t_end)
        assert fast.time == ref.time and int(fast.upos[0]) == ref.upos
    for k in range(2):
        np.testing.assert_array_equal(fast.LR[k], np.array(ref.mod[k].rows))
        assert fast.fregs[k, tb.R_CUM] == ref.mod[k].R
        assert fast.fregs[k, tb.R_SURPRISE] == ref.mod[k].R_surprise
        assert fast.counts[k, tb.N_TAGS] == len(ref.mod[k].stack)
        assert fast.mregs[k, tb.N_MODS] == ref.mod[k].mods
        assert fast.mregs[k, tb.N_EVALS] == ref.mod[k].evals
        assert fast.mregs[k, tb.N_RESTORED] == ref.mod[k].restored
    assert fast.S.tolist() == ref.S
    st = fast.stats()
    assert (int(fast.iregs[tb.IP]), st["goals"], st["bets"], st["moves"], st["first_goal"]) == \
        (ref.ip, ref.goals, ref.bets, ref.moves, ref.first_goal)
    assert st["bets"] > 0 and sum(st["mods"]) > 0 and sum(st["evals"]) > 0


def test_lives_are_seeded_and_survive_slicing_and_checkpoints() -> None:
    p = TwoBrainsParams(grid=4)

    def life() -> TwoBrains:
        return TwoBrains(p, rng_for("seeded", 11))

    whole = life()
    whole.run_until(400_000)
    sliced = life()
    for t in range(50_000, 400_001, 50_000):
        sliced.run_until(t)
    first = life()
    first.run_until(130_000)
    resumed = life()
    resumed.load_state_dict({k: (np.asarray(v) if isinstance(v, np.ndarray) else v)
                             for k, v in first.state_dict().items()})
    resumed.run_until(400_000)
    for other in (sliced, resumed):
        for name in ("LR", "S", "iregs", "mregs", "fregs", "counts"):
            np.testing.assert_array_equal(getattr(whole, name), getattr(other, name))
    assert whole.stats()["bets"] > 0


def test_a_killed_run_resumes_to_the_same_result(tmp_path: Path) -> None:
    check_killed_and_resumed("curiosity-two-brains",
                             ["seeds=2", "steps=60000", "log_every=20000", "plots=false"],
                             0.5, tmp_path)
