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

Both can run their jobs on a Ray cluster (``backend="ray"``, :mod:`metahook.core.ray_pool`), one
Ray task per job, with the same result as the local path:

- ``run_jobs(..., backend="ray")`` ships ``make``, ``step`` and ``summarise`` (closures, pickled
  with cloudpickle) to the workers; a task builds its job, steps it to the end (or from the saved
  state of a job a local run left half-done) and summarises it. Inside a task the run's context
  is a stand-in (:class:`JobContext`): ``seed`` and ``torch_generator`` as in the run,
  ``progress`` ignored, ``log`` recorded and replayed by the driver in the order of ``keys``, so
  ``metrics.jsonl`` is the local run's line for line. The run's shared stream ``ctx.rng`` is not
  available there (a job that draws from it depends on the jobs before it, so it is not
  independent): such a job raises. Checkpoints hold the jobs finished in the order of ``keys``
  (a job finished ahead of an unfinished one is kept in memory until its turn);
- ``collect(..., source(ctx, one, "ray"))``: :func:`source` turns a per-key function ``one(key)
  -> record`` into a ``compute`` of either backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from metahook.core.ray_pool import check_backend, ray_imap_idle, ray_session


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
             shared: Callable[[], dict[str, Any]] | None = None, backend: str = "process",
             workers: int | None = None) -> dict[str, Any]:
    """Run the jobs named ``keys`` in order; return ``{key: summarise(index, job)}`` in that order.

    ``make(index, shared)`` builds job ``index``; ``step(index, job)`` advances it by one chunk and
    returns True, or returns False once it is finished (then nothing more is checkpointed for it
    before ``summarise``). ``shared()`` is called once, on a fresh start, for what every job
    needs and must never be redrawn (the lives' seeds, drawn from ``ctx.rng``); it is kept in
    every checkpoint and handed to ``make``. Summaries must be checkpoint data (arrays, lists,
    numbers, strings).

    ``backend="ray"``: every job not yet done is one Ray task (see the module docstring) on the
    cluster of :func:`metahook.core.ray_pool.ray_session` (a local Ray of ``workers`` CPUs, None:
    all cores); the jobs must then be independent of each other.
    """
    _check_unique(keys)
    check_backend(backend)
    state = ctx.restore()
    common: dict[str, Any] = ({} if shared is None else shared()) if state is None \
        else dict(state["shared"])
    done: dict[str, Any] = {} if state is None else dict(state["done"])
    index = 0 if state is None else int(state["index"])
    if backend == "ray":
        return _run_jobs_ray(ctx, keys, (make, step, summarise), common, done, index,
                             None if state is None else state.get("job"), workers)
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
            compute: Callable[[list[str]], Iterable[tuple[str, Any] | None]],
            on_record: Callable[[str, Any, int], None] | None = None) -> dict[str, Any]:
    """Records for every key of ``keys``; return ``{key: record}`` in the order of ``keys``.

    ``compute(missing)`` yields ``(key, record)`` for the keys not yet in the checkpoint, in any
    order (a pool of processes yields them as they finish); every record is checkpointed as it
    arrives, after ``on_record(key, record, n_done)`` (logging, progress). It may also yield None
    while it waits (:func:`source` on Ray does every second): the checkpointer is then asked
    whether to stop (Ctrl-C).
    """
    _check_unique(keys)
    state = ctx.restore()
    done: dict[str, Any] = {} if state is None else dict(state["done"])
    missing = [k for k in keys if k not in done]
    if missing:
        for item in compute(missing):
            if item is None:
                ctx.checkpoint(lambda: {"done": done})
                continue
            key, record = item
            if key not in missing or key in done:
                raise ValueError(f"collect: unexpected record {key!r}")
            done[key] = record
            if on_record is not None:
                on_record(key, record, len(done))
            ctx.checkpoint(lambda: {"done": done})
    if set(done) != set(keys):
        raise ValueError(f"collect: no record for {sorted(set(keys) - set(done))}")
    return {k: done[k] for k in keys}


class JobContext:
    """What a job's closures see of the run's context inside a Ray task: the run's ``seed`` and
    ``scale``, ``torch_generator`` as the harness's, ``progress`` ignored, ``log`` recorded (the
    driver writes the lines); no shared stream ``rng``, no checkpoints, no plots."""

    def __init__(self, seed: int, scale: str) -> None:
        self.seed, self.scale = seed, scale
        self.stop_requested = False

    @property
    def rng(self) -> np.random.Generator:
        raise RuntimeError("a job on Ray cannot draw from the run's shared stream ctx.rng: its "
                           "draws would depend on the jobs before it; seed the job from its "
                           "index instead, or use backend=process")

    def torch_generator(self, offset: int = 0) -> Any:
        import torch

        gen = torch.Generator()
        gen.manual_seed(self.seed * 1_000_003 + offset)
        return gen

    def log(self, step: int | float, **values: Any) -> None:
        _JOB_LOG.append((step, values))

    def progress(self, done: float, total: float, description: str = "") -> None:
        pass

    def checkpoint(self, make_state: Callable[[], dict[str, Any]], force: bool = False) -> None:
        raise RuntimeError("a job on Ray cannot checkpoint the run")

    def plot_path(self, name: str) -> Any:
        raise RuntimeError("a job on Ray cannot plot; plot in the driver")


_JOB_LOG: list[tuple[int | float, dict[str, Any]]] = []
"""The ``log`` calls of the job running in this (worker) process."""


def _root(ctx: Any) -> Any:
    """The run's context under ``ctx`` (through :class:`Stage` wrappers)."""
    while isinstance(ctx, Stage):
        ctx = ctx.ctx
    return ctx


def _pickle_for_workers(obj: Any, ctx: Any) -> bytes:
    """``obj`` (closures included) pickled with cloudpickle, every reference to the run's context
    ``ctx`` (or the context under it) replaced by a :class:`JobContext` of its seed and scale.

    Transport to Ray workers only, in memory: nothing pickled is ever written to disk (checkpoints
    stay JSON + arrays, see ``harness/checkpoint.py``)."""
    from ray import cloudpickle

    targets = {id(ctx), id(_root(ctx))}
    root = _root(ctx)
    stand_in = (JobContext, (int(getattr(root, "seed", 0)), str(getattr(root, "scale", ""))))

    class Pickler(cloudpickle.CloudPickler):
        def reducer_override(self, o: Any) -> Any:
            if id(o) in targets:
                return stand_in
            return super().reducer_override(o)

    import io

    buf = io.BytesIO()
    Pickler(buf, protocol=cloudpickle.DEFAULT_PROTOCOL).dump(obj)
    return buf.getvalue()


def _unpickle(payload: Any) -> Any:
    import ray
    from ray import cloudpickle

    blob = ray.get(payload) if isinstance(payload, ray.ObjectRef) else payload
    return cloudpickle.loads(blob)


def _ray_job(arg: tuple[Any, int, dict[str, Any], dict[str, Any] | None]
             ) -> tuple[int, Any, list[tuple[int | float, dict[str, Any]]]]:
    """One job of :func:`run_jobs` in a Ray worker: ``(index, summary, log calls)``."""
    payload, index, common, saved = arg
    make, step, summarise = _unpickle(payload)
    _JOB_LOG.clear()
    job = make(index, common)
    if saved is not None:
        job.load_state_dict(saved)
    while step(index, job):
        pass
    summary = summarise(index, job)
    logs = list(_JOB_LOG)
    _JOB_LOG.clear()
    return index, summary, logs


def _replay(ctx: Any, logs: list[tuple[int | float, dict[str, Any]]]) -> None:
    for step, values in logs:
        _root(ctx).log(step, **values)


def _run_jobs_ray(ctx: Checkpointer, keys: Sequence[str], fns: tuple[Any, Any, Any],
                  common: dict[str, Any], done: dict[str, Any], index: int,
                  saved_job: dict[str, Any] | None, workers: int | None) -> dict[str, Any]:
    """:func:`run_jobs`'s Ray path: jobs ``index..`` as Ray tasks, committed in order."""
    ahead: dict[int, tuple[Any, list[tuple[int | float, dict[str, Any]]]]] = {}
    first = index

    def snapshot() -> dict[str, Any]:
        return {"index": index, "done": done, "shared": common,
                "job": saved_job if index == first else None}

    with ray_session(workers) as ray:
        payload = ray.put(_pickle_for_workers(fns, ctx))
        items = [(payload, i, common, saved_job if i == first else None)
                 for i in range(index, len(keys))]
        for finished, result in ray_imap_idle(_ray_job, items):
            if result is None or not finished:
                ctx.checkpoint(snapshot)  # due, or Ctrl-C: saves and raises
                continue
            i, summary, logs = result
            ahead[i] = (summary, logs)
            while index in ahead:
                summary, logs = ahead.pop(index)
                _replay(ctx, logs)
                done[keys[index]] = summary
                index += 1
                progress = getattr(_root(ctx), "progress", None)
                if progress is not None:
                    progress(index, len(keys), keys[index - 1])
                ctx.checkpoint(snapshot, force=True)
    return {k: done[k] for k in keys}


def _ray_record(arg: tuple[Any, str]) -> tuple[str, Any, list[tuple[int | float, dict[str, Any]]]]:
    """One record of :func:`source` in a Ray worker: ``(key, record, log calls)``."""
    payload, key = arg
    one = _unpickle(payload)
    _JOB_LOG.clear()
    record = one(key)
    logs = list(_JOB_LOG)
    _JOB_LOG.clear()
    return key, record, logs


def source(ctx: Checkpointer, one: Callable[[str], Any], backend: str = "process",
           workers: int | None = None) -> Callable[[list[str]], Iterator[tuple[str, Any] | None]]:
    """A ``compute`` for :func:`collect` from ``one(key) -> record``: the missing keys in order in
    this process (``process``), or one Ray task each (``ray``; ``one`` must not draw from
    ``ctx.rng``; what it logs is written as its record arrives; None is yielded while waiting so
    that Ctrl-C is noticed)."""
    check_backend(backend)

    def local(missing: list[str]) -> Iterator[tuple[str, Any] | None]:
        for key in missing:
            yield key, one(key)

    def on_ray(missing: list[str]) -> Iterator[tuple[str, Any] | None]:
        with ray_session(workers) as ray:
            payload = ray.put(_pickle_for_workers(one, ctx))
            for finished, result in ray_imap_idle(_ray_record, [(payload, k) for k in missing]):
                if result is None or not finished:
                    yield None
                    continue
                key, record, logs = result
                _replay(ctx, logs)
                yield key, record

    return on_ray if backend == "ray" else local


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
