"""PowerPlay: the acceptance rule, dependency tracking vs full re-testing, resume, verify."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.envs.powerplay_tasks import ForthTask, gamma_bits, tasks_up_to
from metahook.harness.checkpoint import load, save
from metahook.rsi.powerplay.core import Candidate, Outcome, PowerPlay, Settings
from metahook.rsi.powerplay.forth import ForthDomain, SolverImage, run_solver
from resume_helpers import check_killed_and_resumed


# ---------------------------------------------------------------- a toy domain for the core
@dataclass(frozen=True)
class ToyTask:
    """Solved when the components ``parts`` of the solver's weights sum to ``target`` mod K."""

    parts: tuple[int, ...]
    target: int


class ToyDomain:
    """Weights ``w[0..m)`` mod ``K``; a modification sets one weight; tasks read a few weights.

    ``honest=False`` makes the search report no changed component, so dependency tracking would
    skip re-tests; ``breaks`` makes the first candidates set a weight that an old task needs to a
    wrong value (the demonstration must reject them)."""

    min_share = 1

    def __init__(self, m: int, K: int, pool: Sequence[ToyTask], cost: int = 3) -> None:
        self.m, self.K, self.pool, self.cost = m, K, list(pool), cost
        self.w = np.zeros(m, dtype=np.int64)
        self.runs = 0

    def _solves(self, w: np.ndarray, t: ToyTask) -> bool:
        return int(sum(int(w[c]) for c in t.parts)) % self.K == t.target

    def tasks(self, max_bits: int) -> list[tuple[ToyTask, int]]:
        out = [(t, 2 + i // 2) for i, t in enumerate(self.pool)]
        return [(t, b) for t, b in out if b <= max_bits]

    def run(self, task: ToyTask, candidate: Candidate | None, trace: bool,
            max_steps: int | None = None) -> Outcome:
        self.runs += 1
        w = self.w if candidate is None else candidate.info["w"]
        return Outcome(self._solves(w, task), self.cost, frozenset(task.parts))

    def search(self, task: ToyTask | None, share: int, repertoire: Sequence[ToyTask],
               cap: int) -> tuple[Candidate | None, int]:
        if task is None:
            return None, 1
        spent = 0
        for c in task.parts:  # weights the new task reads, then values, in order
            for v in range(self.K):
                spent += 1
                if spent > share:
                    return None, spent
                w = self.w.copy()
                w[c] = v
                if self._solves(w, task):
                    return Candidate(frozenset({c}), spent, "weight", {"w": w, "c": c}), spent
        return None, spent

    def accept(self, candidate: Candidate) -> None:
        self.w = candidate.info.pop("w")

    def discard(self, candidate: Candidate) -> None:
        candidate.info.pop("w", None)

    def task_json(self, task: ToyTask) -> Any:
        return {"parts": list(task.parts), "target": task.target}

    def task_from_json(self, data: Any) -> ToyTask:
        return ToyTask(tuple(data["parts"]), int(data["target"]))

    def state_dict(self) -> dict[str, Any]:
        return {"w": self.w.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.w = np.asarray(state["w"]).copy()


def _toy_pool(data: Any, m: int, K: int, n: int) -> list[ToyTask]:
    parts = st.lists(st.integers(0, m - 1), min_size=1, max_size=3, unique=True).map(tuple)
    return data.draw(st.lists(st.builds(ToyTask, parts, st.integers(0, K - 1)),
                              min_size=1, max_size=n))


def _run_toy(pool: list[ToyTask], m: int, K: int, track: bool) -> PowerPlay[ToyTask]:
    pp = PowerPlay(ToyDomain(m, K, pool),
                   Settings(first_phase=2, max_phase=12, track_dependencies=track,
                            compression=False))
    while not pp.finished:
        pp.advance(1)
    return pp


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_dependency_tracking_accepts_what_full_retesting_accepts(data: Any) -> None:
    m, K = data.draw(st.integers(2, 6)), data.draw(st.integers(2, 4))
    pool = _toy_pool(data, m, K, 12)
    tracked, full = _run_toy(pool, m, K, True), _run_toy(pool, m, K, False)
    assert tracked.repertoire == full.repertoire
    assert [a.task for a in tracked.accepted] == [a.task for a in full.accepted]
    assert np.array_equal(tracked.domain.w, full.domain.w)
    assert all(a.retested <= a.retested_full for a in tracked.accepted)
    assert all(a.retested == a.retested_full for a in full.accepted)
    # the rule itself: the final solver solves the whole repertoire
    assert all(full.domain.run(t, None, False).solved for t in full.repertoire)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_acceptance_rule_on_the_toy_domain(data: Any) -> None:
    """Never a task the old solver already solves; never a change that breaks an old task."""
    m, K = data.draw(st.integers(2, 5)), data.draw(st.integers(2, 4))
    pool = _toy_pool(data, m, K, 10)
    dom = ToyDomain(m, K, pool)
    pp = PowerPlay(dom, Settings(first_phase=2, max_phase=12, compression=False))
    while not pp.finished:
        before = dom.w.copy()
        for acc in pp.advance(1):
            task = dom.task_from_json(acc.task)
            assert not dom._solves(before, task), "the old solver already solved it"
            assert all(dom._solves(dom.w, t) for t in pp.repertoire), "an old task broke"


def test_a_change_that_breaks_an_old_task_is_rejected() -> None:
    """Two tasks read weight 0: the second one's cheapest change breaks the first."""
    pool = [ToyTask((0,), 1), ToyTask((0,), 2), ToyTask((0, 1), 0)]
    pp = _run_toy(pool, 2, 3, True)
    assert ToyTask((0,), 2) not in pp.repertoire
    assert pp.repertoire[0] == ToyTask((0,), 1)
    assert all(pp.domain.run(t, None, False).solved for t in pp.repertoire)


# ---------------------------------------------------------------- the OOPS-language domain
def test_task_code_lengths_and_order() -> None:
    assert [gamma_bits(n) for n in (1, 2, 3, 4, 7, 8)] == [1, 3, 3, 5, 5, 7]
    assert ForthTask((), (0,)).bits == 4  # flag + gamma(1) + gamma(1) + gamma(1)
    ts = tasks_up_to(11)
    assert ts[0] == ForthTask((), (0,))
    assert [t.bits for t in ts] == sorted(t.bits for t in ts)
    assert len(set(ts)) == len(ts) and all(not t.trivial for t in ts)
    # Kraft: a prefix code's lengths sum to at most 1 (the compression branch takes half)
    assert sum(2.0 ** -t.bits for t in tasks_up_to(16)) <= 0.5


def _forth(track: bool, tasks: int, **kw: Any) -> tuple[PowerPlay[ForthTask], ForthDomain,
                                                      list[SolverImage]]:
    dom = ForthDomain(task_steps=1000)
    pp = PowerPlay(dom, Settings(track_dependencies=track, max_share=1 << 24, **kw))
    images = [dom.image()]
    while len(pp.accepted) < tasks and not pp.finished:
        if pp.advance(1):
            images.append(dom.image())
    return pp, dom, images


def test_forth_acceptances_obey_the_rule_and_tracking_changes_nothing() -> None:
    pp, _, images = _forth(True, 9)
    full, _, _ = _forth(False, 9)
    assert [a.task for a in pp.accepted] == [a.task for a in full.accepted]
    assert [a.info for a in pp.accepted] == [a.info for a in full.accepted]
    assert any(a.compression for a in pp.accepted)
    assert sum(a.retested for a in pp.accepted) < sum(a.retested for a in full.accepted)
    rep: list[ForthTask] = []
    for acc, old, new in zip(pp.accepted, images[:-1], images[1:], strict=True):
        if acc.compression:
            before = sum(run_solver(old, t, 1000).steps for t in rep)
            assert sum(run_solver(new, t, 1000).steps for t in rep) < before
        else:
            task = ForthTask.from_json(acc.task)
            assert not run_solver(old, task, 1000).solved
            rep.append(task)
        assert all(run_solver(new, t, 1000).solved for t in rep)
        if acc.kind == "prolongation":
            assert acc.retested == 0 and acc.reuse


def test_forth_state_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    """Stopped after some phases, saved (JSON + npz), loaded into a new object, continued: the
    same acceptances, costs and solver as one uninterrupted run."""
    whole, dom, _ = _forth(True, 8)
    dom2 = ForthDomain(task_steps=1000)
    pp = PowerPlay(dom2, Settings(max_share=1 << 24))
    while len(pp.accepted) < 4:
        pp.advance(1)
    save(tmp_path, pp.state_dict(), 1)
    state, _ = load(tmp_path)
    pp2 = PowerPlay(ForthDomain(task_steps=1000), Settings(max_share=1 << 24))
    pp2.load_state_dict(state)
    while len(pp2.accepted) < 8 and not pp2.finished:
        pp2.advance(1)
    assert [json.dumps(a.__dict__, sort_keys=True) for a in pp2.accepted] == \
        [json.dumps(a.__dict__, sort_keys=True) for a in whole.accepted]
    assert np.array_equal(pp2.domain.image().code, dom.image().code)  # type: ignore[attr-defined]


def test_random_order_is_reproducible_and_differs() -> None:
    a, _, _ = _forth(True, 4, order="random", random_bits=9)
    b, _, _ = _forth(True, 4, order="random", random_bits=9)
    s, _, _ = _forth(True, 4)
    assert [x.task for x in a.accepted] == [x.task for x in b.accepted]
    assert [x.task for x in a.accepted] != [x.task for x in s.accepted]


# ---------------------------------------------------------------- the experiment and the CLI
def test_quick_scale_meets_its_criterion_and_verifies(tmp_path: Path) -> None:
    from metahook.cli import main
    from metahook.experiments.powerplay_forth import EXPERIMENT
    from metahook.harness.runner import run_experiment

    m = run_experiment("powerplay-forth", out=tmp_path / "q", scale="quick", seed=0)["metrics"]
    assert EXPERIMENT.smoke is not None
    ok, why = EXPERIMENT.smoke(m)
    assert ok, why
    assert m["verified_tasks"] == m["repertoire"] == m["tasks_new"]
    assert m["retested_per_acceptance_mean"] < m["retested_full_per_acceptance_mean"]
    assert m["transfer_fresh_solved"] == m["transfer_grown_solved"] == 1
    assert main(["powerplay", "verify", str(tmp_path / "q")]) == 0


def test_killed_and_resumed_run_ends_identically(tmp_path: Path) -> None:
    check_killed_and_resumed("powerplay-forth", ["tasks=7", "transfer_n=0"], 4, tmp_path)


def test_verify_counts_a_forgotten_task(tmp_path: Path, capsys: Any) -> None:
    from metahook.cli import main
    from metahook.experiments.powerplay_forth import verify

    pp, dom, _ = _forth(True, 3)
    from metahook.experiments.powerplay_forth import save_solver

    save_solver(tmp_path, pp, dom)
    assert verify(tmp_path) == {"tasks": len(pp.repertoire), "failed": 0}
    rep = json.loads((tmp_path / "repertoire.json").read_text())
    rep["tasks"].append({"x": [], "y": [987654], "steps": 1})  # a task no solver here solves
    (tmp_path / "repertoire.json").write_text(json.dumps(rep))
    assert main(["powerplay", "verify", str(tmp_path)]) == 1
    assert json.loads(capsys.readouterr().out) == {"tasks": len(pp.repertoire) + 1, "failed": 1}
    assert main(["powerplay", "verify", str(tmp_path / "nowhere")]) == 2
    (tmp_path / "solver.npz").write_bytes(b"not a zip")
    assert main(["powerplay", "verify", str(tmp_path)]) == 2


def test_run_solver_is_the_machine_alone() -> None:
    """A hand-written solver: ``c3 up`` solves [] -> 3 at step 1 and [] -> 3 3 at step 2."""
    from metahook.machines.forth.asm import assemble
    from metahook.search.oops import prewired_state

    st = prewired_state(1 << 10)
    code = np.concatenate([st.qQ[1:77], np.array(assemble("c3 up"), dtype=np.int64)])
    image = SolverImage(code, np.asarray(st.OLD[1:8]).copy(), 77)
    assert run_solver(image, ForthTask((), (3,)), 100) == Outcome(True, 1)
    assert run_solver(image, ForthTask((), (3, 3)), 100) == Outcome(True, 2)
    assert run_solver(image, ForthTask((), (3, 3)), 1) == Outcome(False, 1, timed_out=True)
    assert not run_solver(image, ForthTask((), (4,)), 100).solved
    assert not run_solver(replace(image, entry=78), ForthTask((), (3,)), 100).solved


def test_the_ledgers_powerplay_runs_verify(capsys: Any) -> None:
    """The committed full runs' saved solvers still solve their whole repertoires (forth through
    the interpreter, SLIM nets through the pure-Python reference)."""
    from metahook.cli import main

    results = Path(__file__).resolve().parents[1] / "results"
    for exp, label in (("powerplay-forth", "full"), ("powerplay-slim-patterns", "full"),
                       ("powerplay-slim-fovea", "full"), ("powerplay-slim-fovea", "no-commands")):
        run_dir = results / exp / label
        assert main(["powerplay", "verify", str(run_dir)]) == 0
        out = json.loads(capsys.readouterr().out)
        m = json.loads((run_dir / "result.json").read_text())["metrics"]
        assert out == {"tasks": m["repertoire"], "failed": 0}
