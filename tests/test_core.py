"""The bottom layer: named random streams and generator states read back from checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metahook.core.seeding import restore_generator, rng_for
from metahook.core.ssa_stack import SSAStack


def test_rng_for_is_a_pure_function_of_name_and_seed() -> None:
    a = rng_for("world", 7).random(5)
    assert np.array_equal(a, rng_for("world", 7).random(5))
    assert not np.array_equal(a, rng_for("agent", 7).random(5))
    assert not np.array_equal(a, rng_for("world", 8).random(5))


def test_rng_for_streams_do_not_depend_on_other_names_drawn_first() -> None:
    alone = rng_for("b", 3).random(4)
    rng_for("a", 3).random(1000)
    assert np.array_equal(alone, rng_for("b", 3).random(4))


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_rng_for_rejects_bad_seeds(seed: object) -> None:
    with pytest.raises(ValueError):
        rng_for("x", seed)  # type: ignore[arg-type]


def test_rng_for_needs_a_name() -> None:
    with pytest.raises(ValueError):
        rng_for("", 0)


def test_restore_generator_from_json_round_trip() -> None:
    rng = np.random.default_rng(11)
    rng.random(3)
    saved = json.loads(json.dumps(rng.bit_generator.state))
    expected = rng.random(4)
    other = np.random.default_rng(0)
    restore_generator(other, saved)
    assert np.array_equal(other.random(4), expected)


def test_ssa_stack_state_round_trip_keeps_room_to_grow() -> None:
    st = SSAStack(3, 2, tag_capacity=1, entry_capacity=1)
    st.grow(tags=5, rows=9)
    st.counts[:2] = (5, 9)
    st.tags[:5] = np.arange(20.0).reshape(5, 4)
    st.entries[:9] = np.arange(27.0).reshape(9, 3)
    back = SSAStack(3, 2)
    back.load_state_dict(json.loads(json.dumps(
        {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in st.state_dict().items()})))
    assert back.n_tags == 5 and back.n_entries == 9 and back.stack_size == 14
    assert np.array_equal(back.tag_list(), st.tag_list())
    assert np.array_equal(back.entries[:9], st.entries[:9])
    assert back.tags.shape[0] >= 10 and back.entries.shape[0] >= 18
