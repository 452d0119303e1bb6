"""Checkpoints: round trip of nested state with arrays, atomicity, corruption detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from metahook.harness import checkpoint as ckpt
from metahook.harness.errors import UsageError

_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                  st.floats(allow_nan=False), st.text(max_size=5),
                  hnp.arrays(st.sampled_from([np.float64, np.int32, np.uint8]),
                             hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
_state = st.recursive(_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=4), kids, max_size=3),
    st.tuples(kids, kids)), max_leaves=12)


def _equal(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    return a == b and type(a) is type(b)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=4), _state, max_size=4))
def test_round_trip(tmp_path_factory: pytest.TempPathFactory, state: dict) -> None:
    folder = tmp_path_factory.mktemp("ck")
    ckpt.save(folder, state, 1)
    loaded, seq = ckpt.load(folder)
    assert seq == 1
    assert _equal(state, loaded)


def test_only_latest_kept_and_rng_restored(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rng.random(3)
    for seq in (1, 2, 3):
        ckpt.save(tmp_path, {"rng": ckpt.rng_state(rng), "seq": seq}, seq)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ckpt-000003.json", "ckpt-000003.npz", "latest.json"]
    state, _ = ckpt.load(tmp_path)
    other = np.random.default_rng(0)
    ckpt.set_rng_state(other, state["rng"])
    assert other.random() == rng.random()


def test_corruption_is_a_usage_error(tmp_path: Path) -> None:
    ckpt.save(tmp_path, {"w": np.arange(10.0)}, 1)
    npz = tmp_path / "ckpt-000001.npz"
    npz.write_bytes(npz.read_bytes()[:-7])
    with pytest.raises(UsageError, match="corrupt checkpoint"):
        ckpt.load(tmp_path)
    (tmp_path / "latest.json").write_text("{not json")
    with pytest.raises(UsageError, match="corrupt checkpoint"):
        ckpt.load(tmp_path)
    with pytest.raises(UsageError, match="no checkpoint"):
        ckpt.load(tmp_path / "missing")


def test_no_pickle_in_npz(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="cannot checkpoint"):
        ckpt.save(tmp_path, {"obj": object()}, 1)
    ckpt.save(tmp_path, {"a": np.zeros(2)}, 1)
    meta = json.loads((tmp_path / "latest.json").read_text())
    with np.load(tmp_path / f"{meta['stem']}.npz", allow_pickle=False) as z:
        assert list(z.keys()) == ["a0"]


def test_atomic_write_gives_ordinary_permissions(tmp_path: Path) -> None:
    """Not the temp file's private 0600: 0666 less the umask, as open() would give."""
    import stat

    from metahook.harness import checkpoint

    checkpoint.atomic_write_bytes(tmp_path / "f.json", b"{}")
    assert stat.S_IMODE((tmp_path / "f.json").stat().st_mode) == 0o666 & ~checkpoint._UMASK
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
