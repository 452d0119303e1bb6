"""``metahook reproduce``: every registered experiment, in parallel over the cores, then the report.

Each experiment runs in a worker process (``spawn``; one thread per worker for numpy, torch and
numba so the workers do not oversubscribe the cores) into ``DIR/<name>/``. Workers send progress
through a queue; the parent shows a live rich progress display with one bar per experiment. A
failing experiment is recorded with status ``error`` and does not stop the others.

Backends. ``backend="process"`` (the default) is the pool above. ``backend="ray"`` runs each
experiment as one Ray task (one CPU, one thread) on the cluster at ``ray_address`` (else
``RAY_ADDRESS``, else a local Ray of ``workers`` CPUs started for the call); a small Ray actor
carries the progress messages and the stop request. The run folders are the same and must be
reachable by the workers at the same path (a shared file system on a multi-node cluster). Each
run is a function of its experiment, scale and seed, so its ``result.json`` equals the process
backend's apart from timing figures. A task whose worker process dies is run again by Ray
(:data:`~metahook.core.ray_pool.MAX_RETRIES` times), continuing the run from its last checkpoint.

Run folders. Everything is checked before anything is written or deleted. ``DIR/<name>/`` is
replaced only when it holds a run of the same experiment, scale and seed (or nothing): a folder
holding a run of another scale or seed, of another experiment, or files that are no run is
refused (:class:`UsageError`, nothing touched), so a finished full-scale run is never lost to a
quick one. With ``resume=True`` finished runs (a ``result.json`` whose status is not in
:data:`~metahook.harness.runner.UNFINISHED`) are kept and every other one continues from its
checkpoint, or from the beginning where it has none.

Interruption. Ctrl-C (SIGINT, whether the terminal sends it to the whole process group or
``kill -INT`` to the parent alone) asks every running experiment to stop: workers ignore SIGINT
themselves; the parent sets a shared event that each run polls at its checkpoint calls, so a run
that checkpoints writes a last checkpoint and stops; runs not yet started are not started.
Runs still going after ``grace_s`` seconds (they do not checkpoint often enough), or all of them
at a second Ctrl-C, are killed.
Every run stopped so is marked ``interrupted`` (its ``result.json`` says so where its folder
exists) and ``reproduce(..., resume=True)`` continues it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

from metahook.core.ray_pool import BACKENDS, THREAD_VARS, import_ray
from metahook.harness.errors import RunInterrupted, UsageError, choices
from metahook.harness.registry import SCALES, experiment_names
from metahook.harness.runner import (
    check_out,
    check_seed,
    is_finished,
    make_folder,
    read_result,
    remove_run,
    run_experiment,
)

_THREAD_VARS = THREAD_VARS

# Set in each worker by _init_worker: the parent's message queue and its stop event.
_QUEUE: Any = None
_STOP: Any = None


def _init_worker(q: Any, stop: Any) -> None:
    global _QUEUE, _STOP
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    # A worker ignores Ctrl-C, and so do the processes a run forks (a run's own worker pool
    # stays whole): the parent decides what stops, through the stop event.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _QUEUE, _STOP = q, stop


def _job(name: str, scale: str, seed: int, out: str, resume: bool) -> dict[str, Any]:
    """One experiment in a worker process of the pool."""
    return _execute(name, scale, seed, out, resume, _QUEUE.put, _STOP.is_set)


def _execute(name: str, scale: str, seed: int, out: str, resume: bool,
             put: Callable[[tuple[Any, ...]], Any], stop_set: Callable[[], bool]
             ) -> dict[str, Any]:
    """Run one experiment, sending ``("start", ...)`` and ``("progress", ...)`` messages through
    ``put`` and stopping at its next checkpoint once ``stop_set()``; return its summary."""
    put(("start", name, os.getpid()))
    if stop_set():
        return {"experiment": name, "status": "interrupted", "wall_s": None}

    def sink(done: float, total: float, description: str) -> None:
        put(("progress", name, done, total, description))

    torch = sys.modules.get("torch")  # torch imported later reads OMP_NUM_THREADS=1 itself
    if torch is not None:
        torch.set_num_threads(1)
    try:
        doc = run_experiment(name, out=Path(out), scale=scale, seed=seed, resume=resume,
                             progress_sink=sink, catch_errors=True, checkpoint_every_s=60.0,
                             stop_check=stop_set, record_interrupted=True,
                             handle_sigint=False)
    except (RunInterrupted, KeyboardInterrupt):
        doc = read_result(Path(out)) or {"status": "interrupted", "metrics": {}}
    except UsageError as exc:  # e.g. a corrupt checkpoint of the run being resumed
        return {"experiment": name, "status": "error", "wall_s": None, "error": str(exc)}
    put(("progress", name, 1.0, 1.0, doc["status"]))
    return {"experiment": name, "status": doc["status"],
            "wall_s": doc.get("metrics", {}).get("wall_s")}


def _record(folder: Path, name: str, scale: str, seed: int, status: str, error: str = "") -> None:
    """A worker died or was killed outside ``run_experiment``: leave a result.json saying so."""
    from metahook.harness.checkpoint import atomic_write_json
    from metahook.harness.registry import get_experiment
    from metahook.harness.runner import RESUME_NOTE, result_doc

    doc = result_doc(get_experiment(name), scale, seed, status, {"wall_s": None}, error,
                     RESUME_NOTE if status == "interrupted" else "")
    atomic_write_json(folder / "result.json", doc)


def select(only: list[str] | None) -> list[str]:
    """The experiments to run: all, or ``only`` (checked, duplicates dropped)."""
    names = experiment_names()
    if not only:
        return names
    unknown = [n for n in only if n not in names]
    if unknown:
        raise UsageError(f"unknown experiment {unknown[0]!r}; valid: {choices(names)}")
    return list(dict.fromkeys(only))


def _plan(folder: Path, name: str, scale: str, seed: int, resume: bool) -> str:
    """What to do with ``folder``: ``fresh``, ``resume`` or ``keep``; UsageError to refuse it."""
    import json

    if not folder.exists():
        return "fresh"
    if not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a run folder; reproduce will not replace it: "
                         "remove it or use another --out")
    if not any(folder.iterdir()):
        return "fresh"
    result = read_result(folder)
    saved: Any = None
    config = folder / "config.json"
    if config.is_file():
        try:
            saved = json.loads(config.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"corrupt config.json in {folder}: {exc}; reproduce will not "
                             "replace it: remove that folder or use another --out") from None
    about = result if result is not None else saved
    if not isinstance(about, dict):
        raise UsageError(f"{folder} holds files but no run (no result.json or config.json); "
                         "reproduce will not delete it: remove it or use another --out")
    if about.get("experiment") != name:
        raise UsageError(f"{folder} holds a run of {about.get('experiment')!r}, not {name!r}; "
                         "reproduce will not replace it: remove it or use another --out")
    if about.get("scale") != scale or about.get("seed") != seed:
        state = "finished" if is_finished(result) else "unfinished"
        raise UsageError(
            f"{folder} holds a {state} run at scale {about.get('scale')!r}, seed "
            f"{about.get('seed')!r} (this reproduce: scale {scale!r}, seed {seed}); reproduce "
            "replaces only runs of the same scale and seed: use another --out or remove it")
    if not resume:
        return "fresh"
    if is_finished(result):
        return "keep"
    return "resume" if saved is not None else "fresh"


class _Interrupts:
    """Counts SIGINTs delivered to this process while installed (main thread only)."""

    def __init__(self) -> None:
        self.count = 0
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def reproduce(
    out: Path,
    scale: str = "quick",
    only: list[str] | None = None,
    seed: int = 0,
    workers: int | None = None,
    live: bool = True,
    resume: bool = False,
    grace_s: float = 30.0,
    backend: str = "process",
    ray_address: str | None = None,
) -> list[dict[str, Any]]:
    """Run the selected experiments into ``out/<name>`` in parallel; return their summaries.

    A summary is ``{"experiment", "status", "wall_s"}`` (status ``interrupted`` for every run a
    Ctrl-C stopped or kept from starting). See the module docstring for folders and Ctrl-C.
    ``backend="ray"`` runs each experiment as a Ray task (see the module docstring), on the
    cluster at ``ray_address`` (else ``RAY_ADDRESS``, else a local Ray of ``workers`` CPUs).
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if scale not in SCALES:
        raise UsageError(f"unknown scale {scale!r}; valid: {choices(list(SCALES))}")
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; valid: {choices(list(BACKENDS))}")
    if ray_address is not None and backend != "ray":
        raise UsageError(f"--ray-address {ray_address!r} needs --backend ray (the process "
                         "backend runs on this machine only)")
    if backend == "ray":
        try:
            import_ray()
        except RuntimeError as exc:
            raise UsageError(str(exc)) from None
    seed = check_seed(seed)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise UsageError(f"bad --workers {workers!r}: expected an integer >= 1 "
                         "(default: one per core)")
    names = select(only)
    out = Path(out)
    check_out(out)
    plan = {name: _plan(out / name, name, scale, seed, resume) for name in names}
    make_folder(out)
    for name, action in plan.items():
        if action == "fresh":
            remove_run(out / name)
    todo = [n for n in names if plan[n] != "keep"]
    summaries: dict[str, dict[str, Any]] = {}
    for name in names:
        if plan[name] == "keep":
            doc = read_result(out / name) or {}
            summaries[name] = {"experiment": name, "status": doc.get("status", "?"),
                               "wall_s": doc.get("metrics", {}).get("wall_s")}
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.fields[name]:<24}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), TextColumn("{task.description}"),
        console=console, disable=not live, transient=False,
    )
    tasks = {n: progress.add_task("queued" if n in todo else "finished (kept)",
                                  total=1.0, completed=0 if n in todo else 1, name=n)
             for n in names}
    if todo:
        with _Interrupts() as interrupts, progress:
            if backend == "ray":
                _run_all_ray(todo, plan, out, scale, seed, workers, progress, tasks, summaries,
                             interrupts, grace_s, console, ray_address)
            else:
                _run_all(todo, plan, out, scale, seed, workers, progress, tasks, summaries,
                         interrupts, grace_s, console)
    return [summaries[n] for n in sorted(summaries)]


def _run_all(
    todo: list[str], plan: dict[str, str], out: Path, scale: str, seed: int,
    workers: int | None, progress: Any, tasks: dict[str, Any],
    summaries: dict[str, dict[str, Any]], interrupts: _Interrupts, grace_s: float, console: Any,
) -> None:
    """Run ``todo`` in a process pool, filling ``summaries``; see the module docstring."""
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    stop = ctx.Event()
    pids: dict[str, int] = {}
    started: set[str] = set()
    deadline: float | None = None
    killed: set[int] = set()
    pool = ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(q, stop))
    try:
        futures: dict[Future[dict[str, Any]], str] = {
            pool.submit(_job, n, scale, seed, str(out / n), plan[n] == "resume"): n for n in todo
        }
        pending = set(futures)
        while pending:
            if interrupts.count and deadline is None:
                stop.set()
                deadline = time.monotonic() + grace_s
                for fut in pending:
                    fut.cancel()
                console.print("[bold]Ctrl-C[/]: stopping the runs at their next checkpoint "
                              f"(at most {grace_s:.0f} s; Ctrl-C again to stop at once)")
            if deadline is not None and (interrupts.count >= 2 or time.monotonic() > deadline):
                for name, pid in pids.items():  # runs that did not stop in time
                    if name not in summaries and pid not in killed:
                        killed.add(pid)
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
            for msg in _drain(q, 0.1, 1000):
                if msg[0] == "start":
                    pids[msg[1]] = msg[2]
                    continue
                _, name, done, total, desc = msg
                if name not in started:
                    started.add(name)
                    progress.reset(tasks[name], total=total, description=desc)
                progress.update(tasks[name], completed=done, total=total, description=desc)
            for fut in [f for f in pending if f.done()]:
                pending.discard(fut)
                name = futures[fut]
                summary = _summary(fut, name, out, scale, seed, stopping=deadline is not None)
                summaries[name] = summary
                progress.update(tasks[name], completed=1.0, total=1.0,
                                description=summary["status"])
            time.sleep(0.05)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        q.close()


def _drain(q: Any, timeout: float, most: int) -> list[Any]:
    """The messages waiting in ``q`` (waiting up to ``timeout`` for the first; at most ``most``)."""
    msgs: list[Any] = []
    try:
        msgs.append(q.get(timeout=timeout))
        while len(msgs) < most:
            msgs.append(q.get_nowait())
    except queue.Empty:
        pass
    return msgs


def _summary(fut: Future[dict[str, Any]], name: str, out: Path, scale: str, seed: int,
             stopping: bool) -> dict[str, Any]:
    """The summary of one finished future (recording a result.json where the worker could not)."""
    if fut.cancelled():
        return {"experiment": name, "status": "interrupted", "wall_s": None}
    try:
        return fut.result()
    except Exception as exc:  # a worker that died outside the run (killed, out of memory)
        return _lost(exc, name, out, scale, seed, stopping)


def _lost(exc: BaseException, name: str, out: Path, scale: str, seed: int,
          stopping: bool) -> dict[str, Any]:
    """The summary of a run whose worker gave no summary (recording a result.json for it)."""
    folder = out / name
    if stopping:
        if (folder / "config.json").is_file() and not (folder / "result.json").is_file():
            _record(folder, name, scale, seed, "interrupted")
        return {"experiment": name, "status": "interrupted", "wall_s": None}
    error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    _record(folder, name, scale, seed, "error", error)
    return {"experiment": name, "status": "error", "wall_s": None, "error": error}


# ------------------------------------------------------------------ the Ray backend


class _Relay:
    """A Ray actor between the driver and the experiment tasks: progress messages one way, the
    stop request the other (the Ray counterpart of the pool's queue and event)."""

    def __init__(self) -> None:
        self.messages: list[tuple[Any, ...]] = []
        self.stop = False

    def put(self, message: tuple[Any, ...]) -> None:
        self.messages.append(message)

    def take(self) -> list[tuple[Any, ...]]:
        out, self.messages = self.messages, []
        return out

    def request_stop(self) -> None:
        self.stop = True

    def stop_requested(self) -> bool:
        return self.stop


def _ray_job(name: str, scale: str, seed: int, out: str, resume: bool,
             relay: Any) -> dict[str, Any]:
    """One experiment as a Ray task.

    The driver emptied a fresh run's folder before submitting it, so a ``config.json`` found
    there was written by an earlier attempt of this very task whose worker process died: Ray
    runs the task again (``max_retries``) and the run continues from that attempt's checkpoint,
    ending as an uninterrupted run would.
    """
    import ray

    for var in THREAD_VARS:
        os.environ[var] = "1"
    folder = Path(out)
    if not resume and (folder / "config.json").is_file():
        try:
            result = read_result(folder)
        except UsageError:
            result = None
        if is_finished(result):
            assert result is not None
            return {"experiment": name, "status": result["status"],
                    "wall_s": result.get("metrics", {}).get("wall_s")}
        resume = True

    def put(message: tuple[Any, ...]) -> None:
        relay.put.remote(message)

    def stop_set() -> bool:
        return bool(ray.get(relay.stop_requested.remote()))

    return _execute(name, scale, seed, out, resume, put, stop_set)


def _run_all_ray(
    todo: list[str], plan: dict[str, str], out: Path, scale: str, seed: int,
    workers: int | None, progress: Any, tasks: dict[str, Any],
    summaries: dict[str, dict[str, Any]], interrupts: _Interrupts, grace_s: float, console: Any,
    address: str | None,
) -> None:
    """Run ``todo`` as Ray tasks, one per experiment, filling ``summaries``.

    Ctrl-C asks the running tasks (through the relay) to stop at their next checkpoint and
    cancels the queued ones; after ``grace_s`` seconds or a second Ctrl-C the rest are killed.
    """
    from metahook.core.ray_pool import MAX_RETRIES, ray_session

    n_cpus = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    with ray_session(n_cpus, address) as ray:
        relay = ray.remote(num_cpus=0)(_Relay).remote()
        job = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(_ray_job)
        where = out.resolve()  # a worker's working folder need not be this process's
        refs = {job.remote(n, scale, seed, str(where / n), plan[n] == "resume", relay): n
                for n in todo}
        pending = list(refs)
        started: set[str] = set()
        killed: set[Any] = set()
        deadline: float | None = None
        try:
            while pending:
                if interrupts.count and deadline is None:
                    ray.get(relay.request_stop.remote())
                    deadline = time.monotonic() + grace_s
                    for ref in pending:
                        if refs[ref] not in started:  # queued: never start it
                            ray.cancel(ref)
                    console.print("[bold]Ctrl-C[/]: stopping the runs at their next checkpoint "
                                  f"(at most {grace_s:.0f} s; Ctrl-C again to stop at once)")
                if deadline is not None and (interrupts.count >= 2
                                             or time.monotonic() > deadline):
                    for ref in pending:
                        if ref not in killed:
                            killed.add(ref)
                            ray.cancel(ref, force=True)
                for msg in ray.get(relay.take.remote()):
                    if msg[0] == "start":
                        started.add(msg[1])
                        continue
                    _, name, done, total, desc = msg
                    progress.update(tasks[name], completed=done, total=total, description=desc)
                ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0.1)
                for ref in ready:
                    name = refs[ref]
                    try:
                        summary = ray.get(ref)
                    except Exception as exc:  # cancelled, or its worker died MAX_RETRIES times
                        summary = _lost(exc, name, out, scale, seed, deadline is not None)
                    summaries[name] = summary
                    progress.update(tasks[name], completed=1.0, total=1.0,
                                    description=summary["status"])
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
