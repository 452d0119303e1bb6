"""The resumable sweeps: jobs checkpointed inside (run_jobs) and atomic records (collect)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.core.sweep import collect, run_jobs
from metahook.harness.context import RunContext
from metahook.harness.errors import RunInterrupted


class Sum:
    """A toy job: adds ``ctx.rng`` draws to a total, ``length`` draws in all, 2 per chunk."""

    def __init__(self, length: int) -> None:
        self.length, self.total, self.n = length, 0, 0

    def state_dict(self) -> dict[str, Any]:
        return {"total": self.total, "n": self.n}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.total, self.n = int(st["total"]), int(st["n"])


def _sweep(ctx: RunContext, lengths: list[int], stop_at: int | None = None) -> dict[str, Any]:
    chunks = [0]

    def step(i: int, job: Sum) -> bool:
        if job.n >= job.length:
            return False
        chunks[0] += 1
        if chunks[0] == stop_at:
            ctx.stop_requested = True  # as Ctrl-C would: the next checkpoint raises
        k = min(2, job.length - job.n)
        job.total += int(ctx.rng.integers(0, 1000, size=k).sum())
        job.n += k
        return True

    return run_jobs(ctx, [f"job{i}" for i in range(len(lengths))],
                    lambda i, shared: Sum(lengths[i]), step,
                    lambda i, job: {"total": job.total, "n": job.n})


def test_jobs_run_in_order_each_to_its_end(tmp_path: Path) -> None:
    done = _sweep(RunContext(tmp_path / "r", seed=3, scale="quick"), [5, 0, 4])
    assert list(done) == ["job0", "job1", "job2"]
    assert [d["n"] for d in done.values()] == [5, 0, 4]


@settings(max_examples=15, deadline=None)
@given(lengths=st.lists(st.integers(0, 7), min_size=1, max_size=4), stop_at=st.integers(1, 12))
def test_interrupted_anywhere_and_resumed_equals_uninterrupted(
    tmp_path_factory: pytest.TempPathFactory, lengths: list[int], stop_at: int
) -> None:
    tmp = tmp_path_factory.mktemp("sweep")
    whole = _sweep(RunContext(tmp / "whole", seed=5, scale="quick"), lengths)
    out = tmp / "cut"
    try:
        cut = _sweep(RunContext(out, seed=5, scale="quick", checkpoint_every_s=1e9), lengths,
                     stop_at)
    except RunInterrupted:
        cut = _sweep(RunContext(out, seed=5, scale="quick", resume=True), lengths)
    assert cut == whole


def test_repeated_keys_are_refused(tmp_path: Path) -> None:
    ctx = RunContext(tmp_path / "r", seed=0, scale="quick")
    with pytest.raises(ValueError, match="repeated: a"):
        run_jobs(ctx, ["a", "b", "a"], lambda i, s: Sum(1), lambda i, j: False,
                 lambda i, j: {})
    with pytest.raises(ValueError, match="repeated: a"):
        collect(ctx, ["a", "a"], lambda missing: iter(()))


def _records(ctx: RunContext, keys: list[str], stop_after: int | None = None) -> dict[str, Any]:
    seen: list[str] = []

    def compute(missing: list[str]) -> Iterator[tuple[str, Any]]:
        for key in reversed(missing):  # any order, as a pool of processes returns them
            rng = np.random.default_rng(int(key))  # an atomic job seeded by its key
            yield key, {"value": float(rng.normal())}

    def on_record(key: str, record: Any, n_done: int) -> None:
        seen.append(key)
        if stop_after is not None and n_done == stop_after:
            ctx.stop_requested = True

    return collect(ctx, keys, compute, on_record)


def test_collect_returns_records_in_key_order_and_resumes(tmp_path: Path) -> None:
    keys = ["3", "1", "4", "15", "9"]
    whole = _records(RunContext(tmp_path / "whole", seed=0, scale="quick"), keys)
    assert list(whole) == keys
    out = tmp_path / "cut"
    with pytest.raises(RunInterrupted):
        _records(RunContext(out, seed=0, scale="quick", checkpoint_every_s=0.0), keys, 2)
    assert _records(RunContext(out, seed=0, scale="quick", resume=True), keys) == whole


def test_collect_refuses_a_record_nobody_asked_for(tmp_path: Path) -> None:
    ctx = RunContext(tmp_path / "r", seed=0, scale="quick")
    with pytest.raises(ValueError, match="unexpected record 'z'"):
        collect(ctx, ["a"], lambda missing: iter([("z", 1)]))
    with pytest.raises(ValueError, match=r"no record for \['b'\]"):
        collect(RunContext(tmp_path / "s", seed=0, scale="quick"), ["a", "b"],
                lambda missing: iter([("a", 1)]))
