"""OOPS's parallel dispatcher with Ray actors as workers (``ParallelOOPS(backend="ray")``) finds
what the single process and the process workers find, counter for counter, also when it starts
from a single-process run stopped mid-search and when it is checkpointed mid-run (with the
workers' snapshots) and resumed.

One local Ray (two CPUs, no dashboard) serves the whole module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ray_helpers import local_ray, untimed

ray = pytest.importorskip("ray")

from metahook.harness import checkpoint as ckpt  # noqa: E402
from metahook.machines.forth.asm import assemble  # noqa: E402
from metahook.search.direct import CHAIN_1N2N, SOLVER_1N2N  # noqa: E402
from metahook.search.oops import OOPS  # noqa: E402
from metahook.search.parallel import ParallelOOPS  # noqa: E402
from oops_helpers import original_counts  # noqa: E402

ORIGINAL = [original_counts("1n2n", n) for n in (1, 2)]


@pytest.fixture(scope="module", autouse=True)
def ray_cluster() -> Iterator[None]:
    yield from local_ray()


def _key(events: list[Any]) -> list[tuple[Any, ...]]:
    return [(e.n, e.text(), e.totalt, e.prefs, e.insts, e.topt, e.topSp) for e in events]


def _assert_actors_released() -> None:
    """close() kills the worker actors: their CPUs return to the cluster."""
    import time

    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2


def _finish(par: ParallelOOPS) -> list[Any]:
    events: list[Any] = []
    try:
        while not par.oops.finished:
            events += par.advance(2.0)
    finally:
        par.close()
    return events


def test_ray_workers_match_the_original_counters_and_resume(tmp_path: Path) -> None:
    oops = OOPS(phases=(("1n2n", 2),))
    events = []
    while oops.counters()["totalt"] < 2_000_000:  # start single-process, stop mid-search
        events += oops.advance(50_000)
    assert oops.active
    par = ParallelOOPS(oops, workers=2, snapshot_s=0.2, backend="ray")
    try:
        events += par.advance(2.0)
        ckpt.save(tmp_path, {"user": par.state_dict()}, 1)  # mid-run, with worker snapshots
    finally:
        par.close()
    _assert_actors_released()
    state, _ = ckpt.load(tmp_path)
    events += _finish(ParallelOOPS.from_state_dict(state["user"], workers=2, backend="ray"))
    assert _key(events) == ORIGINAL


def test_ray_workers_equal_process_workers_counter_for_counter() -> None:
    """Twelve tasks solved in quick succession (every search after a success is cancelled)."""

    def make() -> OOPS:
        o = OOPS(phases=(("1n2n", 12),))
        o.preload([assemble(CHAIN_1N2N), assemble(SOLVER_1N2N)])  # solves every n at once
        return o

    seq = _key(make().advance(1 << 40))
    on_processes = _key(_finish(ParallelOOPS(make(), workers=2)))
    on_ray = _key(_finish(ParallelOOPS(make(), workers=2, backend="ray")))
    assert len(seq) == 12 and on_ray == on_processes == seq


def test_a_bad_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend 'dask'"):
        ParallelOOPS(OOPS(phases=(("1n2n", 1),)), workers=2, backend="dask")


def test_oops_1n2n_with_ray_workers_gives_the_process_workers_result(tmp_path: Path) -> None:
    """``--set workers=2 --set backend=ray`` on the experiment: the same result.json
    (apart from timing, and from how often a search had to be run again, which depends on it)."""
    import json

    from metahook.harness.runner import run_experiment

    docs = {}
    for backend in ("process", "ray"):
        run_experiment("oops-1n2n", out=tmp_path / backend,
                       overrides=["n_max=2", "workers=2", "verify_solver=false",
                                  f"backend={backend}"])
        doc = json.loads((tmp_path / backend / "result.json").read_text())
        assert doc["status"] == "ok", doc.get("error")
        docs[backend] = _untimed(doc)
    assert docs["ray"] == docs["process"]
    m = docs["ray"]["metrics"]
    assert m["max_n_solved"] == 2 and m["matches_program_1n2n_n1"] and m["matches_program_1n2n_n2"]
    assert m["time_steps_1n2n_n2"] == ORIGINAL[1][2]  # the original program's totalt


def _untimed(value: Any) -> Any:
    return untimed(value, ("wall_s", "parallel_reruns", "per_s"))
