"""The Gödel machine under the stepping contract: a life advanced in slices of cycles, saved to a
checkpoint (JSON + npz) and continued on fresh hardware, ends exactly as a life run in one go."""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metahook.harness import checkpoint as ckpt
from metahook.rsi.godel.kernel import KernelError
from metahook.rsi.godel.machine import Life, Machine, Setup, live

MEANS = (Fraction(1, 10), Fraction(1, 2), Fraction(9, 10))


def _setup(T: int = 60_000) -> Setup:
    return Setup(means=MEANS, T=T)


def _same(a: Any, b: Any, path: str = "state") -> None:
    """Deep equality of checkpoint data (arrays by value and dtype kind)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert np.array_equal(np.asarray(a), np.asarray(b)), path
        return
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
        return
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
        return
    assert a == b, f"{path}: {a!r} != {b!r}"


def _outcome(life: Life) -> dict[str, Any]:
    """Everything a life leaves behind, but z3's resource counter (a measurement that shifts with
    what the process's z3 context did before; see ``ProverStats``)."""
    hw = life.hardware
    state = hw.state_dict()
    assert state["stats"]["prover"].pop("rlimit") > 0 or not hw.stats.prover.calls
    return {
        "switches": [dict(s) for s in life.switches],
        "expected_reward": life.expected_reward,
        "reward": life.reward,
        "pulls": hw.pulls(),
        "state": state,
    }


@cache
def _whole(audit: bool, allow_switch: bool, seeded: bool) -> tuple[dict[str, Any], list[dict]]:
    m = Machine(_setup(), np.random.default_rng(7) if seeded else None, audit=audit,
                allow_switch=allow_switch)
    events = m.advance(10**9)
    assert m.finished
    return _outcome(m.life()), events


def _interrupted(tmp_path: Path, cuts: list[int], audit: bool, allow_switch: bool,
                 seeded: bool) -> tuple[dict[str, Any], list[dict], list[int]]:
    """Advance to each cut, save a checkpoint, build a fresh machine, load it, go on."""
    def fresh(seed: int) -> Machine:
        return Machine(_setup(), np.random.default_rng(seed) if seeded else None, audit=audit,
                       allow_switch=allow_switch)

    m = fresh(7)
    events: list[dict] = []
    proofs_held = []
    for seq, cut in enumerate(cuts, 1):
        events += m.advance(cut - m.time)
        ckpt.save(tmp_path, {"life": m.state_dict()}, seq)
        proofs_held.append(len(m.hardware.proof))
        m = fresh(99)  # the wrong seed: the checkpoint must set the stream
        m.load_state_dict(ckpt.load(tmp_path)[0]["life"])
    while not m.finished:
        events += m.advance(12_345)
    return _outcome(m.life()), events, proofs_held


@pytest.mark.parametrize("audit,allow_switch,seeded", [(True, True, True), (False, False, False)])
def test_an_interrupted_life_ends_like_an_uninterrupted_one(audit, allow_switch, seeded,
                                                            tmp_path: Path) -> None:
    whole, whole_events = _whole(audit, allow_switch, seeded)
    # cuts inside techniques (proof store and data stack in use), inside a search slice, around
    # the switch (t1 = 20,322 with these costs), and in the pulls-only rest of the life
    cuts = [3_001, 5_008, 10_021, 15_061, 17_777, 20_152, 20_400, 31_000, 59_995]
    got, events, proofs_held = _interrupted(tmp_path, cuts, audit, allow_switch, seeded)
    assert max(proofs_held) >= 5  # checkpoints were taken with theorems in the proof store
    _same(got, whole)
    assert events == whole_events
    if allow_switch:
        assert [e["t1"] for e in events if e["event"] == "switch"] == [20_322]
        assert whole["switches"][0]["u1_exact"] > whole["switches"][0]["u0_exact"]
    assert events[-1] == {"event": "end", "time": 60_000}


def test_slices_of_any_size_give_the_life_of_live() -> None:
    ref = live(_setup(), np.random.default_rng(7))
    for chunk in (1, 97, 4_000):
        m = Machine(_setup(), np.random.default_rng(7))
        events = []
        while not m.finished:
            before = m.time
            events += m.advance(chunk)
            assert m.time > before
        life = m.life()
        _same(_outcome(life), _outcome(ref))
        kinds = [e["event"] for e in events]
        assert kinds.count("switch") == 1 and kinds.count("end") == 1
        assert kinds.count("proof") == ref.hardware.stats.targets_proven
    m = Machine(_setup(), np.random.default_rng(7))
    assert m.advance(0) == [] and m.time == 0
    with pytest.raises(ValueError):
        m.advance(-1)


def test_the_step_by_step_reference_checkpoints_too(tmp_path: Path) -> None:
    ref = live(_setup(30_000), np.random.default_rng(3), audit=False, fast=False)
    m = Machine(_setup(30_000), np.random.default_rng(3), audit=False, fast=False)
    m.advance(21_000)  # after the switch: only pulls remain
    m2 = Machine(_setup(30_000), np.random.default_rng(0), audit=False, fast=False)
    m2.load_state_dict(m.state_dict())
    m2.advance(30_000)
    _same(_outcome(m2.life()), _outcome(ref))


def test_a_checkpoint_cannot_smuggle_a_theorem_past_the_kernel() -> None:
    m = Machine(_setup(), None, audit=False)
    while not any(s["rule"] == "lin" for s in m.state_dict()["hardware"]["proof"]["steps"]):
        m.advance(50)
    st = m.state_dict()
    lin = next(s for s in st["hardware"]["proof"]["steps"] if s["rule"] == "lin")
    lin["data"]["certificate"] = ["0"] * len(lin["data"]["certificate"])
    with pytest.raises(KernelError, match="certificate"):
        Machine(_setup(), None, audit=False).load_state_dict(st)


def test_a_checkpoint_of_another_life_is_refused() -> None:
    st = Machine(_setup(), None).state_dict()
    with pytest.raises(ValueError, match="T="):
        Machine(_setup(50_000), None).load_state_dict(st)
    with pytest.raises(ValueError, match="expected mode"):
        Machine(_setup(), np.random.default_rng(0)).load_state_dict(st)
