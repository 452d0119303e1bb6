"""PowerPlay on SLIM nets: the acceptance rule checked by the reference net, dependency tracking
vs full re-testing, Levin budgets, resume, verification, the two experiments' quick runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.harness.checkpoint import load, save
from metahook.machines.slim.reference import ReferenceSlim
from metahook.rsi.powerplay.core import PowerPlay, Settings
from metahook.rsi.powerplay.slim import (
    FoveaDomain,
    FoveaTask,
    PatternDomain,
    PatternTask,
    SlimDomain,
    reference_failures,
)
from resume_helpers import check_killed_and_resumed


def _first_phase(dom: SlimDomain) -> int:
    return min(b for _, b in dom.tasks(1 << 20)) + (dom.min_share - 1).bit_length()


def _loop(dom: SlimDomain, tasks: int, span: int = 10, track: bool = True,
          compression: bool = True) -> tuple[PowerPlay[Any], list[np.ndarray]]:
    """PowerPlay on ``dom`` for ``tasks`` acceptances (or until phase first + span); the net's
    weights before the first and after every acceptance."""
    first = _first_phase(dom)
    pp: PowerPlay[Any] = PowerPlay(dom, Settings(first_phase=first, max_phase=first + span,
                                                 max_share=1 << 62, track_dependencies=track,
                                                 compression=compression))
    nets = [dom.net.W.copy()]
    while len(pp.accepted) < tasks and not pp.finished:
        if pp.advance(1):
            nets.append(dom.net.W.copy())
    return pp, nets


def _ref_runs(dom: SlimDomain, W: np.ndarray, tasks: list[Any]) -> list[tuple[bool, int, int]]:
    """(solved, steps, used connections) of each task on weights ``W``, by the reference."""
    assert dom.net.theta is not None
    ref = ReferenceSlim(W.tolist(), dom.net.group.tolist(), dom.net.inputs.tolist(),
                        dom.net.halt, dom.net.theta.tolist(), dom.net.clamped.tolist())
    out = []
    for t in tasks:
        arrays = {**dom.export(), "W": W}
        failed = reference_failures(arrays, [dom.task_json(t)])
        if isinstance(t, PatternTask):
            r = ref.run_pattern([float(b) for b in t.pattern], dom.task_steps)
        else:
            assert isinstance(dom, FoveaDomain)
            moves = {u: m for u, m in zip(dom.motors, dom.moves, strict=True)}
            r = ref.run(dom.images[0].tolist(), dom.retina, dom._px(t.start), moves,
                        dom.task_steps, dom._command(t).tolist())
        out.append((failed == 0, r.steps, len(r.used)))
    return out


def _check_rule(dom: SlimDomain, pp: PowerPlay[Any], nets: list[np.ndarray]) -> None:
    """Every acceptance, re-checked by the reference: a new task failed by the old net, the
    whole repertoire solved by the new net; a compression lowered (connections, steps)."""
    rep: list[Any] = []
    for acc, old, new in zip(pp.accepted, nets[:-1], nets[1:], strict=True):
        if acc.compression:
            before = _ref_runs(dom, old, rep)
            after = _ref_runs(dom, new, rep)
            cost = (sum(r[2] for r in before), sum(r[1] for r in before))
            assert (sum(r[2] for r in after), sum(r[1] for r in after)) < cost
        else:
            task = dom.task_from_json(acc.task)
            assert not _ref_runs(dom, old, [task])[0][0], "the old net already solved it"
            rep.append(task)
        assert all(r[0] for r in _ref_runs(dom, new, rep)), "an old task broke"
        assert acc.info["k"] == len(acc.info["changes"]) and acc.kind == "weights"
    assert rep == pp.repertoire


def test_pattern_acceptances_obey_the_rule() -> None:
    dom = PatternDomain(n_in=5, classes=3, hidden=(3,), task_steps=5)
    pp, nets = _loop(dom, 14)
    assert len(pp.repertoire) >= 8 and any(a.compression for a in pp.accepted)
    _check_rule(dom, pp, nets)
    # the reuse flag of the info: connections that existed before the change
    assert any(a.info["old_connections_used"] > 0 for a in pp.accepted if not a.compression)


def test_fovea_acceptances_obey_the_rule() -> None:
    dom = FoveaDomain(grid=4, hidden=(2,), task_steps=8, max_move=2, commands=1)
    pp, nets = _loop(dom, 10)
    assert len(pp.repertoire) >= 6
    assert any(t.command for t in pp.repertoire) and any(not t.command for t in pp.repertoire)
    assert any(any(m != [0, 0] for m in a.info.get("moves", [])) for a in pp.accepted)
    _check_rule(dom, pp, nets)
    for acc in pp.accepted:
        if not acc.compression:  # the recorded action sequence leads from start to target
            t = FoveaTask.from_json(acc.task)
            dy = sum(m[0] for m in acc.info["moves"])
            dx = sum(m[1] for m in acc.info["moves"])
            assert (t.start[0] + dy, t.start[1] + dx) == t.target


def _same(a: PowerPlay[Any], b: PowerPlay[Any]) -> None:
    assert a.repertoire == b.repertoire
    assert [x.task for x in a.accepted] == [x.task for x in b.accepted]
    assert [x.info for x in a.accepted] == [x.info for x in b.accepted]
    assert np.array_equal(a.domain.net.W, b.domain.net.W)  # type: ignore[attr-defined]


def test_tracking_accepts_what_full_retesting_accepts() -> None:
    dom_t, dom_f = (PatternDomain(n_in=5, classes=3, hidden=(3,), task_steps=5)
                    for _ in range(2))
    tracked, _ = _loop(dom_t, 14)
    full, _ = _loop(dom_f, 14, track=False)
    _same(tracked, full)
    assert all(a.retested <= a.retested_full for a in tracked.accepted)
    assert all(a.retested == a.retested_full for a in full.accepted)
    assert sum(a.retested for a in tracked.accepted) < sum(a.retested for a in full.accepted)
    assert tracked.cost["demo"] < full.cost["demo"]


@settings(max_examples=8, deadline=None)
@given(n_in=st.integers(2, 4), classes=st.integers(2, 3), hidden=st.integers(1, 3),
       values=st.sampled_from([(1.0, -1.0, 2.0, 0.0), (1.0, 0.0), (2.0, -1.0, 1.0)]),
       seed=st.integers(0, 3), compression=st.booleans())
def test_tracking_equals_full_retesting_on_random_settings(n_in: int, classes: int, hidden: int,
                                                           values: tuple[float, ...],
                                                           seed: int, compression: bool) -> None:
    def make() -> PatternDomain:
        return PatternDomain(n_in=n_in, classes=classes, hidden=(hidden,), task_steps=4,
                             values=values, seed=seed)

    tracked, nets = _loop(make(), 8, span=8, compression=compression)
    full, _ = _loop(make(), 8, span=8, track=False, compression=compression)
    _same(tracked, full)
    _check_rule(tracked.domain, tracked, nets)  # type: ignore[arg-type]


def test_a_search_stays_within_its_share() -> None:
    """Levin's budget: a search for one task spends at most its share T (k = 1 candidates get
    T P(m) steps each, pairs likewise), also when it finds nothing."""
    dom = PatternDomain(n_in=5, classes=3, hidden=(3,), task_steps=5)
    pp, _ = _loop(dom, 6)
    for share in (dom.min_share, 1 << 16, 1 << 22):
        for task, _ in dom.tasks(12)[:40]:
            if dom.run(task, None, False).solved:
                continue
            cand, spent = dom.search(task, share, pp.repertoire, 0)
            assert 0 <= spent <= share
            if cand is not None:
                assert cand.search_steps == spent
                dom.discard(cand)
                assert "_W" not in cand.info


def test_state_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    whole, _ = _loop(PatternDomain(n_in=5, classes=3, hidden=(3,), task_steps=5, seed=2), 12)
    dom = PatternDomain(n_in=5, classes=3, hidden=(3,), task_steps=5, seed=2)
    pp, _ = _loop(dom, 5)
    save(tmp_path, pp.state_dict(), 1)
    state, _ = load(tmp_path)
    dom2 = PatternDomain(n_in=5, classes=3, hidden=(3,), task_steps=5, seed=7)
    pp2: PowerPlay[Any] = PowerPlay(dom2, pp.settings)
    pp2.load_state_dict(state)
    while len(pp2.accepted) < 12 and not pp2.finished:
        pp2.advance(1)
    assert [json.dumps(a.__dict__, sort_keys=True) for a in pp2.accepted] == \
        [json.dumps(a.__dict__, sort_keys=True) for a in whole.accepted]
    assert np.array_equal(dom2.net.W, whole.domain.net.W)  # type: ignore[attr-defined]


def test_verify_counts_a_forgotten_task(tmp_path: Path) -> None:
    from metahook.experiments.powerplay_slim_patterns import save_net, verify

    dom = PatternDomain(n_in=4, classes=2, hidden=(2,), task_steps=4)
    pp, _ = _loop(dom, 4)
    save_net(tmp_path, pp, dom)
    assert verify(tmp_path) == {"tasks": len(pp.repertoire), "failed": 0}
    rep = json.loads((tmp_path / "repertoire.json").read_text())
    t = pp.repertoire[0]
    rep["tasks"].append({"pattern": list(t.pattern), "label": 1 - t.label, "steps": 1})
    (tmp_path / "repertoire.json").write_text(json.dumps(rep))
    assert verify(tmp_path) == {"tasks": len(pp.repertoire) + 1, "failed": 1}


# ---------------------------------------------------------------- the experiments
def test_patterns_quick_run_resumes_and_passes_its_smoke_criterion(tmp_path: Path) -> None:
    from metahook.harness.registry import get_experiment

    check_killed_and_resumed("powerplay-slim-patterns", [], 5, tmp_path)
    m = json.loads((tmp_path / "whole" / "result.json").read_text())["metrics"]
    ok, why = get_experiment("powerplay-slim-patterns").smoke(m)  # type: ignore[misc]
    assert ok, why
    assert m["forgetting"] == 0 and m["verified_tasks"] == m["repertoire"] == m["tasks_new"]
    assert (tmp_path / "whole" / "net.npz").exists()


def test_fovea_quick_run_passes_its_smoke_criterion(tmp_path: Path) -> None:
    from metahook.harness.registry import get_experiment
    from metahook.harness.runner import run_experiment

    m = run_experiment("powerplay-slim-fovea", out=tmp_path, scale="quick", seed=0)["metrics"]
    ok, why = get_experiment("powerplay-slim-fovea").smoke(m)  # type: ignore[misc]
    assert ok, why
    assert m["action_sequences_novel"] >= 2
