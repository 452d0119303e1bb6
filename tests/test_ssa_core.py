"""SSA core: the success-story criterion after every call, and bit-for-bit restoration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.core.ssa_stack import ssa_call
from metahook.rsi.ssa import SuccessStory, ssc_holds

# One operation of a learner's life: ("mod", row, value) changes a row; ("call", dt, reward)
# lets dt time steps pass, collects reward and calls SSA.
ops = st.lists(
    st.one_of(
        st.tuples(st.just("mod"), st.integers(0, 5), st.floats(-3, 3, allow_nan=False)),
        st.tuples(st.just("call"), st.integers(1, 50), st.floats(-2, 5, allow_nan=False)),
    ),
    min_size=1,
    max_size=80,
)


def _reference_ssa(blocks: list[tuple[float, float]], t: float, R: float) -> int:
    """Independent oracle: the number of blocks that survive a call (pop while SSC fails)."""
    k = len(blocks)
    while k > 0:
        speeds = [R / t] + [(R - r) / (t - v) for v, r in blocks[:k]]
        if all(a < b for a, b in itertools.pairwise(speeds)):
            break
        k -= 1
    return k


@settings(max_examples=200, deadline=None)
@given(ops, st.integers(0, 2**31))
def test_ssc_holds_after_every_call_and_pops_restore_bit_for_bit(
    life: list[tuple], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    policy = rng.standard_normal((6, 3))
    ssa = SuccessStory(6, 3, tag_capacity=1, entry_capacity=1)  # forces growth too
    t, R = 0.0, 0.0
    # reference: per open block, its tag and the whole policy as it was when the block opened
    ref_blocks: list[tuple[float, float]] = []
    snapshots: list[np.ndarray] = []
    open_block = False
    for op in life:
        if op[0] == "mod":
            _, row, value = op
            t += 1.0
            if not open_block:
                ref_blocks.append((t, R))
                snapshots.append(policy.copy())
                open_block = True
            ssa.save(policy, row, t, R)
            policy[row] = policy[row] * 0.5 + value
        else:
            _, dt, reward = op
            t += dt
            R += reward
            survivors = _reference_ssa(ref_blocks, t, R)
            ssa.call(policy, t, R)
            open_block = False
            assert ssa.n_tags == survivors
            assert ssa.criterion_holds(t, R)
            assert ssc_holds(ssa.tag_list(), t, R)
            if survivors < len(ref_blocks):
                # popping restores the policy exactly as it was before the first popped block
                assert np.array_equal(policy, snapshots[survivors])
            del ref_blocks[survivors:]
            del snapshots[survivors:]
            assert np.array_equal(ssa.tag_list(), np.array(ref_blocks).reshape(-1, 2))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**31))
def test_rows_are_saved_once_per_block(seed: int) -> None:
    rng = np.random.default_rng(seed)
    policy = rng.random((4, 2))
    ssa = SuccessStory(4, 2)
    rows = rng.integers(0, 4, size=20)
    for i, r in enumerate(rows):
        ssa.save(policy, int(r), 1.0 + i, 0.0)
        policy[r] += 1.0
    assert ssa.n_tags == 1
    assert ssa.n_entries == len(set(rows.tolist()))


def test_a_block_followed_by_faster_reward_survives_and_a_slower_one_is_popped() -> None:
    policy = np.zeros((2, 2))
    ssa = SuccessStory(2, 2)
    # life average so far: 10 reward in 100 steps (0.1 per step); block 1 starts at t=100
    ssa.save(policy, 0, 100.0, 10.0)
    policy[0] = [1.0, 2.0]
    # afterwards reward comes at 0.5 per step: block 1 survives
    assert ssa.call(policy, 200.0, 60.0) == 0
    assert ssa.n_tags == 1 and np.array_equal(policy[0], [1.0, 2.0])
    # block 2 starts at t=200; afterwards no reward at all: its speed 0 < block 1's, popped
    ssa.save(policy, 1, 201.0, 60.0)
    policy[1] = [7.0, 7.0]
    assert ssa.call(policy, 300.0, 60.0) == 1
    assert ssa.n_tags == 1 and np.array_equal(policy[1], [0.0, 0.0])
    st_ = ssa.stats()
    assert st_["blocks_pushed"] == 2 and st_["blocks_popped"] == 1 and st_["ssa_calls"] == 2


def test_a_slump_below_the_top_block_is_caught() -> None:
    """Comparing only the top two tags (ML97's SSA.2) would keep both blocks here."""
    policy = np.zeros((2, 1))
    ssa = SuccessStory(2, 1)
    ssa.save(policy, 0, 10.0, 5.0)  # block 1 at v1 = 10, R = 5 (life so far: 0.5 per step)
    policy[0] = 1.0
    assert ssa.call(policy, 11.0, 6.0) == 0  # 1 per step since v1: survives
    ssa.save(policy, 1, 20.0, 6.0)  # nothing from 11 to 20; block 2 at v2 = 20
    policy[1] = 1.0
    # at t = 21, R = 7: Q(v2) = 1 > Q(v1) = 2/11, but Q(v1) < R/t = 1/3: block 1 must go
    literal = SuccessStory(2, 1)
    literal.load_state_dict(ssa.state_dict())
    assert ssa.call(policy, 21.0, 7.0) == 2
    assert ssa.n_tags == 0 and np.array_equal(policy, np.zeros((2, 1)))
    # ML97's literal rule (top pair only) keeps both blocks
    kept = np.ones((2, 1))
    assert ssa_call(literal.tags, literal.entries, literal.counts, kept, 21.0, 7.0, True) == 0
    assert literal.n_tags == 2 and not literal.criterion_holds(21.0, 7.0)


def test_state_dict_round_trip_keeps_behaviour() -> None:
    rng = np.random.default_rng(0)
    policy = rng.random((5, 3))
    ssa = SuccessStory(5, 3)
    for i in range(30):
        ssa.save(policy, int(rng.integers(5)), 2.0 * i + 1, float(i))
        policy[int(rng.integers(5))] += 1
        if i % 7 == 6:
            ssa.call(policy, 2.0 * i + 1.5, float(i) + rng.random())
    other = SuccessStory(5, 3)
    other.load_state_dict(ssa.state_dict())
    p1, p2 = policy.copy(), policy.copy()
    assert ssa.call(p1, 1000.0, -5.0) == other.call(p2, 1000.0, -5.0)
    assert np.array_equal(p1, p2) and ssa.stats() == other.stats()


def test_bad_use_is_rejected() -> None:
    ssa = SuccessStory(3, 2)
    policy = np.zeros((3, 2))
    with pytest.raises(ValueError, match="shape"):
        ssa.save(np.zeros((2, 2)), 0, 1.0, 0.0)
    with pytest.raises(ValueError, match="out of range"):
        ssa.save(policy, 3, 1.0, 0.0)
    ssa.save(policy, 0, 5.0, 0.0)
    with pytest.raises(ValueError, match="after the newest checkpoint"):
        ssa.call(policy, 5.0, 0.0)
