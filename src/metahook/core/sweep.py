"""Resumable sweeps: many independent jobs run one after another, checkpointed as they go.

Most experiments are a list of independent jobs (the lives of an SSA protocol, one network per
model and size, one evolution run per method and seed) whose summaries make up the result. Two
drivers cover them, both resumable so that an interrupted run ends exactly as an uninterrupted
one:

- :func:`run_jobs`, for jobs that take long and are checkpointed *inside*: build job ``i``, advance
  it chunk by chunk (``step``) with a checkpoint after every chunk, ``summarise`` it when ``step``
  says it is finished, checkpoint between jobs. On resume the job that was running is rebuilt and
  its saved state loaded (``Job.load_state_dict``);
- :func:`collect`, for jobs that are atomic (a whole evolution run, one input size): a source
  computes the records still missing, in any order and in any number of processes, and every
  record is checkpointed as it arrives.

Both know nothing of the harness: they are handed a :class:`Checkpointer` (the harness's
``RunContext`` is one), which restores the last checkpoint, writes a new one, and keeps the run's
random stream ``rng`` in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np


class Checkpointer(Protocol):
    """What a sweep needs of the run around it: a random stream, the last checkpoint (None on a
    fresh start), and a way to write one (``force``: now, not only when the checkpoint interval has
    passed)."""

    rng: np.random.Generator

    def restore(self) -> dict[str, Any] | None: ...

    def checkpoint(self, make_state: Callable[[], dict[str, Any]], force: bool = False) -> None: ...


class Job(Protocol):
    """What :func:`run_jobs` needs of a job: its whole state as checkpoint data, and back."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, st: dict[str, Any]) -> None: ...


J = TypeVar("J", bound=Job)


def _check_unique(keys: Sequence[str]) -> None:
    twice = sorted({k for i, k in enumerate(keys) if k in keys[:i]})
    if twice:
        raise ValueError(f"every job needs its own key; repeated: {', '.join(twice)}")


def run_jobs(ctx: Checkpointer, keys: Sequence[str], make: Callable[[int, dict[str, Any]], J],
             step: Callable[[int, J], bool], summarise: Callable[[int, J], Any], *,
             shared: Callable[[], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run the jobs named ``keys`` in order; return ``{key: summarise(index, job)}`` in that order.

    ``make(index, shared)`` builds job ``index``; ``step(index, job)`` advances it by one chunk and
    returns True, or returns False once it is finished (then nothing more is checkpointed for it
    before ``summarise``). ``shared()`` is called once, on a fresh start, for what every job
    needs and must never be redrawn (the lives' seeds, drawn from ``ctx.rng``); it is kept in
    every checkpoint and handed to ``make``. Summaries must be checkpoint data (arrays, lists,
    numbers, strings).
    """
    _check_unique(keys)
    state = ctx.restore()
    common: dict[str, Any] = ({} if shared is None else shared()) if state is None \
        else dict(state["shared"])
    done: dict[str, Any] = {} if state is None else dict(state["done"])
    index = 0 if state is None else int(state["index"])
    job: J | None = None
    if state is not None and state.get("job") is not None:
        job = make(index, common)
        job.load_state_dict(state["job"])
    while index < len(keys):
        if job is None:
            job = make(index, common)
        while step(index, job):

            def snapshot(i: int = index, jb: J = job) -> dict[str, Any]:
                return {"index": i, "done": done, "job": jb.state_dict(), "shared": common}

            ctx.checkpoint(snapshot)
        done[keys[index]] = summarise(index, job)
        index += 1
        job = None

        def between(i: int = index) -> dict[str, Any]:
            return {"index": i, "done": done, "job": None, "shared": common}

        ctx.checkpoint(between, force=True)
    return {k: done[k] for k in keys}  # in the order of keys (a checkpoint may sort them)


def collect(ctx: Checkpointer, keys: Sequence[str],
            compute: Callable[[list[str]], Iterable[tuple[str, Any]]],
            on_record: Callable[[str, Any, int], None] | None = None) -> dict[str, Any]:
    """Records for every key of ``keys``; return ``{key: record}`` in the order of ``keys``.

    ``compute(missing)`` yields ``(key, record)`` for the keys not yet in the checkpoint, in any
    order (a pool of processes yields them as they finish); every record is checkpointed as it
    arrives, after ``on_record(key, record, n_done)`` (logging, progress).
    """
    _check_unique(keys)
    state = ctx.restore()
    done: dict[str, Any] = {} if state is None else dict(state["done"])
    missing = [k for k in keys if k not in done]
    if missing:
        for key, record in compute(missing):
            if key not in missing or key in done:
                raise ValueError(f"collect: unexpected record {key!r}")
            done[key] = record
            if on_record is not None:
                on_record(key, record, len(done))
            ctx.checkpoint(lambda: {"done": done})
    if set(done) != set(keys):
        raise ValueError(f"collect: no record for {sorted(set(keys) - set(done))}")
    return {k: done[k] for k in keys}


class Stage:
    """A :class:`Checkpointer` for one of several consecutive sweeps of a run: the sweep's state
    under its own ``key`` of the run's checkpoint ``saved``, beside the last state of the other
    sweeps and whatever else ``saved`` holds (e.g. seeds drawn once at the start)."""

    def __init__(self, ctx: Checkpointer, saved: dict[str, Any], key: str) -> None:
        self.ctx, self.saved, self.key = ctx, saved, key
        self.rng = ctx.rng

    def restore(self) -> dict[str, Any] | None:
        return self.saved.get(self.key)

    def checkpoint(self, make_state: Callable[[], dict[str, Any]], force: bool = False) -> None:
        def merged() -> dict[str, Any]:
            self.saved[self.key] = make_state()
            return dict(self.saved)

        self.ctx.checkpoint(merged, force)
