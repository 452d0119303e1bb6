"""The replay of OOPS's speculative dispatcher (metahook.search.dispatch_sim): one worker is the
sequential run exactly, more workers never beat the critical path or a perfect split, and the
per-search costs it is fed add up to the run's own counter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metahook.search import dispatch_sim as ds

costs = st.lists(st.one_of(st.just(0.0), st.floats(1.0, 1e6)), min_size=1,
                 max_size=40).filter(lambda c: max(c) > 0)  # a task costs something
runs = st.lists(costs, min_size=1, max_size=5)


@given(runs)
def test_one_worker_replays_the_sequential_time_exactly(tasks: list[list[float]]) -> None:
    assert ds.replay(tasks, 1) == sum(sum(t) for t in tasks)


@given(runs, st.integers(2, 300))
def test_more_workers_never_beat_the_bounds(tasks: list[list[float]], w: int) -> None:
    seq, t = ds.replay(tasks, 1), ds.replay(tasks, w)
    assert t <= seq * (1 + 1e-12)  # speed-up >= 1
    assert t >= seq / w * (1 - 1e-12)  # efficiency <= 1
    assert t >= sum(max(c) for c in tasks) * (1 - 1e-12)  # a search is not split
    (row,) = ds.scaling(tasks, [w])
    assert 0 < row["efficiency"] <= 1 + 1e-12 and row["speedup"] >= 1 - 1e-12


@given(costs)
def test_with_workers_for_every_search_a_task_takes_its_longest_search(c: list[float]) -> None:
    assert ds.task_time(c, len(c), lookahead=len(c)) == pytest.approx(max(c))


def test_the_lookahead_limits_speculation() -> None:
    # ten unit searches, ten workers, but at most two dispatched beyond the next to merge
    assert ds.task_time([1.0] * 10, 10, lookahead=2) == pytest.approx(5.0)
    assert ds.task_time([1.0] * 10, 10) == pytest.approx(1.0)  # default lookahead 40


def test_search_sequence_and_split() -> None:
    assert ds.search_sequence(4, "fresh") == [(1, "prolongation"), (1, "fresh"),
                                              (2, "prolongation"), (2, "fresh"),
                                              (4, "prolongation"), (4, "fresh")]
    assert ds.search_sequence(1, "prolongation") == [(1, "prolongation")]
    with pytest.raises(ValueError):
        ds.search_sequence(3, "fresh")
    task = ds.TaskRecord("1n2n", 3, 8, "prolongation", 1000)
    c = ds.split_task(task, fresh_ratio=3.0, last_fraction=0.5)
    assert sum(c) == pytest.approx(1000)
    # fresh searches with T < n are skipped (cost 0); weights T, fresh x3, the last halved
    assert [x == 0 for x in c] == [False, True, False, True, False, False, False]
    assert c[5] == pytest.approx(3 * c[4]) and c[6] == pytest.approx(c[4])


def test_measured_search_costs_add_up_to_the_runs_counter(tmp_path: Path) -> None:
    """1n2n tasks 1 and 2 searched for real: the per-search costs sum to the time steps the
    full run logged at task 2, one search per task succeeds, and one worker replays them."""
    rows = ds.measure_search_costs("1n2n", 2)
    tasks = ds.by_task(rows)
    assert len(tasks) == 2 and [r["n"] for r in rows if r["solved"]] == [1, 2]
    full = {r["n"]: r for r in (json.loads(x) for x in _FULL_RUN_LINES)}
    assert sum(r["cost"] for r in rows) == full[2]["totalt"]
    solved = [r for r in rows if r["solved"]]
    assert [(r["T"], r["kind"]) for r in solved] == [(full[n]["T"], full[n]["kind"])
                                                   for n in (1, 2)]
    assert ds.replay(tasks, 1) == full[2]["totalt"]
    assert ds.replay(tasks, 4) < full[2]["totalt"]
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("\n".join(_FULL_RUN_LINES) + "\n")
    recs = ds.read_run(metrics)
    assert [r.cost for r in recs] == [full[1]["totalt"], full[2]["totalt"] - full[1]["totalt"]]
    assert [len(ds.search_sequence(r.T, r.kind)) for r in recs] == [len(t) for t in tasks]


# the first two lines of the full run's metrics.jsonl (oops-full, seed 0)
_FULL_RUN_LINES = [
    '{"T": 4194304, "kind": "prolongation", "n": 1, "phase": "1n2n", "totalt": 478354}',
    '{"T": 268435456, "kind": "prolongation", "n": 2, "phase": "1n2n", "totalt": 9990653}',
]
