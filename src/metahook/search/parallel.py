"""OOPS on several cores, with results identical to the single-process search.

For task n the original program runs the searches ``prolongation(T)``, ``fresh(T)``,
``prolongation(2T)``, ``fresh(2T)``, ... until one succeeds. Each of these searches starts from
the same state (every tape reset, code frozen up to ``a_frozen``), so each is a pure function of
that state and of (n, T, kind): workers run them *speculatively* in sequence order, and the
master merges the results strictly in that order. Counters are additive; the first successful
search is the one the single-process run would have found, with the same program and the same
counters; searches after it are cancelled. (Subtrees *within* one search are not independent in
the original program: the ring's current task carries over from one candidate's subtree to the
next, so the unit of parallel work is a whole search.)

``topt`` and ``topSp`` are refreshed by the rule "x := v when v > 2x", which depends on their
value when a search starts. A worker runs with the value known at dispatch (a lower bound of the
true one, which only grows). When merging, if the search left that value unchanged, every value
it saw was at most twice the bound, hence at most twice the true value, so the true value is kept;
if it raised it and the bound was exact, its result is exact; otherwise (both happened) the search
is run again with the true value. Results are therefore always exact.

:class:`ParallelOOPS` wraps an :class:`metahook.search.oops.OOPS` (the merged state) and a pool of
worker processes; ``state_dict`` includes snapshots of the searches in flight, so a run can be
checkpointed and resumed at any time.

With ``backend="ray"`` the workers are Ray actors (:class:`RayWorker`, one CPU each, on the
cluster of :func:`metahook.core.ray_pool.ray_session`) instead of local processes. The protocol is
the same: a worker receives the frozen context and a job, sends snapshots and its result (through
a Ray queue instead of a pipe), and checks the cancellation bound (a small Ray actor instead of
shared memory) between slices; the merge is this module's, so the counters are the same.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, cast

import numpy as np

from metahook.core.ray_pool import THREAD_VARS, check_backend, ray_session
from metahook.envs.oops_tasks import BUILTIN_CODES, register_spec, task_set, task_set_spec
from metahook.machines.forth import vm
from metahook.search.levin import RUNNING, SOLVED, SearchState, begin_ring, end_ring
from metahook.search.oops import FRESH, OOPS, PROLONG, Solved, next_search

SLICE = 10_000_000  # tokens between cancellation checks in a worker


@dataclass
class Job:
    seq: int
    n: int
    T: int
    kind: int
    topt_in: int
    topsp_in: int
    absolute: bool = False  # state holds the run's absolute counters (a resumed search)
    state: dict[str, Any] | None = None  # a snapshot to continue from


def _job_bounds(job: Job, R: np.ndarray) -> tuple[int, int, int]:
    if job.kind == PROLONG:
        return job.n, job.n, int(R[vm.R_ALAST])
    return 1, job.n, int(R[vm.R_AFROZEN]) + 1


def run_job(base: SearchState, job: Job, cancel: Any = None, snapshot_s: float = 0.0,
            send: Any = None, scratch: SearchState | None = None) -> dict[str, Any]:
    """Run one search of the sequence (in a worker, or in the master); ``scratch``, a state
    of an earlier job, is reused for this one's machine (see :meth:`SearchState.copy`)."""
    lo = hi = 0
    if job.state is not None:
        st = SearchState.from_state_dict(job.state)
        lo, hi, _ = _job_bounds(job, st.R)
        active = True
    else:
        st = base.copy(into=scratch)
        R = st.R
        R[vm.R_PREFS] = R[vm.R_INSTS] = R[vm.R_TOTALT] = R[vm.R_OFFMEM] = 0
        R[vm.R_MAXT] = R[vm.R_MAXSP] = 0
        R[vm.R_TOPT] = job.topt_in
        R[vm.R_TOPSP] = job.topsp_in
        R[vm.R_T] = job.T
        R[vm.R_QP] = R[vm.R_AFROZEN]
        lo, hi, start = _job_bounds(job, R)
        R[vm.R_ACURRENT] = start
        active = begin_ring(st, lo, hi, start)
    status = RUNNING if active else -1
    last = time.monotonic()
    while status == RUNNING:
        status = st.slice(SLICE)
        if status != RUNNING:
            break
        if cancel is not None and job.seq < cancel.value:
            return {"seq": job.seq, "cancelled": True}
        if send is not None and snapshot_s and time.monotonic() - last >= snapshot_s:
            send(("snapshot", job.seq, st.state_dict()))
            last = time.monotonic()
    R = st.R
    program: list[int] = []
    if status == SOLVED:
        a = int(R[vm.R_ACURRENT])
        program = [int(x) for x in st.qQ[a:int(R[vm.R_QP]) + 1]]
    if active:
        end_ring(st, lo, hi)
    return {"seq": job.seq, "cancelled": False, "solved": status == SOLVED,
            "program": program, "acurrent": int(R[vm.R_ACURRENT]), "T": job.T,
            "prefs": int(R[vm.R_PREFS]), "insts": int(R[vm.R_INSTS]),
            "totalt": int(R[vm.R_TOTALT]), "topt": int(R[vm.R_TOPT]),
            "topSp": int(R[vm.R_TOPSP]), "offmem": int(R[vm.R_OFFMEM]),
            "maxt": int(R[vm.R_MAXT]), "maxsp": int(R[vm.R_MAXSP]),
            "absolute": job.absolute,
            "topt_in": job.topt_in, "topsp_in": job.topsp_in}


def _worker(conn: Connection, cancel: Any, snapshot_s: float) -> None:
    base: SearchState | None = None
    scratch: SearchState | None = None  # the machine of the jobs, reused
    while True:
        msg = conn.recv()
        if msg[0] == "stop":
            return
        if msg[0] == "context":
            for spec in msg[2]:  # task sets registered at run time in the master
                register_spec(spec)
            base = SearchState.from_state_dict(msg[1])
            continue
        job = Job(**msg[1])
        assert base is not None
        if scratch is None or scratch is base:
            scratch = SearchState(int(base.M[vm.R_SCAP]), base.n_tapes)
        conn.send(("result", run_job(base, job, cancel, snapshot_s, conn.send, scratch)))


class CancelFlag:
    """The cancellation bound shared with Ray workers (a Ray actor; ``mp.Value`` locally)."""

    def __init__(self) -> None:
        self.value = 0

    def set(self, value: int) -> None:
        self.value = max(self.value, int(value))

    def get(self) -> int:
        return self.value


class _RemoteCancel:
    """``.value`` of a :class:`CancelFlag` actor: read by a worker (one call per slice), written
    by the master (without waiting; calls from one caller arrive in order)."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self._value = 0

    @property
    def value(self) -> int:
        import ray

        return int(ray.get(self.actor.get.remote()))

    @value.setter
    def value(self, v: int) -> None:
        self.actor.set.remote(int(v))


class RayWorker:
    """A worker of :class:`ParallelOOPS` as a Ray actor: :func:`_worker`'s loop, one message at a
    time, answering through the master's queue as ``(index, message)``."""

    def __init__(self, index: int, queue: Any, cancel: Any, snapshot_s: float) -> None:
        for var in THREAD_VARS:
            os.environ[var] = "1"
        self.index, self.queue, self.snapshot_s = index, queue, snapshot_s
        self.cancel = _RemoteCancel(cancel)
        self.base: SearchState | None = None
        self.scratch: SearchState | None = None

    def context(self, state: dict[str, Any], specs: list[dict[str, Any]]) -> None:
        for spec in specs:
            register_spec(spec)
        self.base = SearchState.from_state_dict(state)

    def job(self, job: dict[str, Any]) -> None:
        assert self.base is not None
        if self.scratch is None:
            self.scratch = SearchState(int(self.base.M[vm.R_SCAP]), self.base.n_tapes)

        def send(msg: Any) -> None:
            self.queue.put((self.index, msg))

        send(("result", run_job(self.base, Job(**job), self.cancel, self.snapshot_s, send,
                                self.scratch)))


class _RayConn:
    """One Ray worker behind the pipe interface the dispatcher sends to."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def send(self, msg: tuple[Any, ...]) -> None:
        if msg[0] == "context":
            self.actor.context.remote(msg[1], msg[2])
        elif msg[0] == "job":
            self.actor.job.remote(msg[1])


class ParallelOOPS:
    """OOPS with ``workers`` processes (or Ray actors: ``backend="ray"``); same results as
    :class:`OOPS` (see module docstring)."""

    def __init__(self, oops: OOPS, workers: int = 2, snapshot_s: float = 300.0,
                 inflight: list[dict[str, Any]] | None = None,
                 results: list[dict[str, Any]] | None = None, backend: str = "process") -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.backend = check_backend(backend)
        self._ray: contextlib.ExitStack | None = None
        self._queue: Any = None
        self._cancel_actor: Any = None
        self.workers = workers
        # At most this many searches dispatched beyond the next one to merge. Each doubling of
        # T normally doubles a search's cost, which bounds speculation by itself; but searches
        # that end at once (an exhausted space) would otherwise run T past the program's limit
        # while one slow search holds up the merge.
        self.lookahead = 4 * workers
        self.snapshot_s = snapshot_s
        self._ctx = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        self.busy: dict[int, int | None] = {}
        self._setup(oops, inflight, results)

    def _setup(self, oops: OOPS, inflight: list[dict[str, Any]] | None,
               results: list[dict[str, Any]] | None) -> None:
        self.oops = oops
        self.seq = 0  # next sequence number to dispatch
        self.next_merge = 0  # sequence number of the next search to merge
        self.results: dict[int, dict[str, Any]] = {}
        self.jobs: dict[int, Job] = {}  # dispatched, not merged
        self.snapshots: dict[int, dict[str, Any]] = {}
        self.cursor: tuple[int, int] | None = (0, 0)  # (T, kind) of the next search to dispatch
        # Every search numbered below this is obsolete (merged, or speculative for a task that
        # is solved); it only grows, so a worker can never miss its cancellation.
        self.cancel: Any = self._ctx.Value("q", 0)
        if self.backend == "ray":
            self._cancel_actor = None  # made with the pool; the bound starts again at 0
        self.sent_context: dict[int, int] = {}
        self.context_version = 0
        self._context: dict[str, Any] | None = None
        self._pending: list[Job] = []
        self.reruns = 0  # searches run again because topt/topSp could not be resolved
        self._start_n(resume=inflight, resume_results=results)

    # ------------------------------------------------------------ context and jobs
    def _base_state(self) -> dict[str, Any]:
        o = self.oops
        st = SearchState.from_state_dict(o.st.state_dict())
        if o.active:  # a search in progress (resumed from the single-process run): reset it
            lo, hi = (o.n, o.n) if o.stage == PROLONG else (1, o.n)
            end_ring(st, lo, hi)
            st.R[vm.R_QP] = st.R[vm.R_AFROZEN]
        return st.state_dict()

    def _start_n(self, resume: list[dict[str, Any]] | None = None,
                 resume_results: list[dict[str, Any]] | None = None) -> None:
        """New context (task n, frozen code); queue the searches to redo or continue."""
        o = self.oops
        self.context_version += 1
        self._context = None if o.finished else self._base_state()
        self.cursor = (int(o.st.R[vm.R_T]), o.stage)
        self.next_merge = self.seq
        if o.finished:
            return
        if resume:
            done = {int(r["seq"]): r for r in (resume_results or [])}
            for d in sorted(resume, key=lambda d: int(d["seq"])):
                job = Job(**{**d, "seq": self.seq})
                if int(d["seq"]) in done:  # finished before the checkpoint: keep its result
                    self.results[job.seq] = {**done[int(d["seq"])], "seq": job.seq}
                    self.jobs[job.seq] = job
                else:
                    self._pending.append(job)
                self.seq += 1
                self.cursor = next_search(job.T, job.kind)
        elif o.active:  # continue the single-process search where it stood, in a worker
            c = o.counters()
            self._pending.append(Job(self.seq, o.n, c["T"], o.stage, c["topt"], c["topSp"],
                                     absolute=True, state=o.st.state_dict()))
            self.seq += 1
            self.cursor = next_search(c["T"], o.stage)
            lo, hi = (o.n, o.n) if o.stage == PROLONG else (1, o.n)
            end_ring(o.st, lo, hi)  # the merged state is the state between searches
            o.st.R[vm.R_QP] = o.st.R[vm.R_AFROZEN]
            o.active = False

    def _next_job(self) -> Job | None:
        if self._pending:
            return self._pending.pop(0)
        o = self.oops
        if o.finished or self.cursor is None or self.seq - self.next_merge >= self.lookahead:
            return None  # (cursor None: no search left; merging the last finishes the run)
        T, kind = self.cursor
        self.cursor = next_search(T, kind)
        c = o.counters()
        job = Job(self.seq, o.n, T, kind, c["topt"], c["topSp"])
        self.seq += 1
        return job

    def _task_specs(self) -> list[dict[str, Any]]:
        """The phases' task sets that a fresh worker process does not know by itself (registered
        at run time in this process), as plain data; the worker registers them."""
        out = []
        for name, _ in self.oops.phases:
            ts = task_set(name)
            if ts.code not in BUILTIN_CODES:
                out.append(task_set_spec(ts))
        return out

    # ------------------------------------------------------------ pool
    def _ensure_pool(self) -> None:
        if self.backend == "ray":
            self._ensure_ray_pool()
            return
        while len(self.conns) < self.workers:
            a, b = self._ctx.Pipe()
            p = self._ctx.Process(target=_worker, args=(b, self.cancel, self.snapshot_s),
                                  daemon=True)
            p.start()
            self.conns.append(a)
            self.procs.append(p)
            self.busy[len(self.conns) - 1] = None

    def _ensure_ray_pool(self) -> None:
        if self.conns:
            return
        if self._ray is None:
            self._ray = contextlib.ExitStack()
            self._ray.enter_context(ray_session(self.workers))
        import ray
        from ray.util.queue import Queue

        self._queue = Queue(actor_options={"num_cpus": 0})
        self._cancel_actor = ray.remote(num_cpus=0)(CancelFlag).remote()
        self.cancel = _RemoteCancel(self._cancel_actor)
        worker = ray.remote(num_cpus=1)(RayWorker)
        for w in range(self.workers):
            actor = worker.remote(w, self._queue, self._cancel_actor, self.snapshot_s)
            self.conns.append(cast(Connection, _RayConn(actor)))
            self.busy[w] = None

    def _close_ray(self) -> None:
        import ray

        for c in self.conns:
            ray.kill(cast(_RayConn, c).actor)
        for actor in (self._cancel_actor, None if self._queue is None else self._queue.actor):
            if actor is not None:
                ray.kill(actor)
        self.conns, self.busy = [], {}
        self._queue = self._cancel_actor = None
        self.cancel = self._ctx.Value("q", self.seq)
        if self._ray is not None:
            self._ray.close()
            self._ray = None

    def close(self) -> None:
        if self.backend == "ray":
            if self.conns or self._ray is not None:
                self._close_ray()
            return
        for c in self.conns:
            with contextlib.suppress(BrokenPipeError, OSError):
                c.send(("stop",))
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        self.conns, self.procs, self.busy = [], [], {}

    def _dispatch(self) -> None:
        for w, cur in self.busy.items():
            if cur is not None:
                continue
            job = self._next_job()
            if job is None:
                return
            if job.kind == FRESH and job.n > job.T and job.state is None:
                self.results[job.seq] = {"seq": job.seq, "cancelled": False, "solved": False,
                                         "skipped": True, "T": job.T, "absolute": False,
                                         "prefs": 0, "insts": 0, "totalt": 0, "offmem": 0,
                                         "topt": job.topt_in, "topSp": job.topsp_in,
                                         "topt_in": job.topt_in, "topsp_in": job.topsp_in}
                self.jobs[job.seq] = job
                continue
            if self.sent_context.get(w) != self.context_version:
                self.conns[w].send(("context", self._context, self._task_specs()))
                self.sent_context[w] = self.context_version
            self.conns[w].send(("job", job.__dict__))
            self.jobs[job.seq] = job
            self.busy[w] = job.seq

    # ------------------------------------------------------------ the loop
    @property
    def finished(self) -> bool:
        return self.oops.finished

    def advance(self, seconds: float = 5.0) -> list[Solved]:
        """Dispatch and merge for about ``seconds`` of wall-clock time; return the tasks solved.

        (The budget is time, not tokens: the workers run whole searches. The result does not
        depend on it.)"""
        self._ensure_pool()
        events: list[Solved] = []
        deadline = time.monotonic() + seconds
        while not self.oops.finished:
            self._dispatch()
            events += self._merge()
            if self.oops.finished:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for w, msg in self._receive(min(left, 1.0)):
                if msg[0] == "snapshot":
                    if msg[1] in self.jobs:
                        self.snapshots[msg[1]] = msg[2]
                    continue
                res: dict[str, Any] = msg[1]
                self.busy[w] = None
                if not res["cancelled"] and res["seq"] in self.jobs:
                    self.results[res["seq"]] = res
                self.snapshots.pop(res["seq"], None)
        return events

    def _receive(self, timeout: float) -> list[tuple[int, Any]]:
        """The workers' messages within ``timeout`` seconds, as (worker index, message)."""
        if self.backend == "ray":
            from queue import Empty

            try:
                first = self._queue.get(timeout=timeout)
            except Empty:
                return []
            return [first, *self._queue.get_nowait_batch(self._queue.qsize())]
        out = []
        for ready in wait(self.conns, timeout=timeout):
            conn = cast(Connection, ready)
            out.append((self.conns.index(conn), conn.recv()))
        return out

    def _merge(self) -> list[Solved]:
        events: list[Solved] = []
        o = self.oops
        while self.next_merge in self.results and not o.finished:
            res = self.results.pop(self.next_merge)
            job = self.jobs.pop(self.next_merge)
            R = o.st.R
            topt = self._resolve(res, int(R[vm.R_TOPT]), "topt", "topt_in", "maxt")
            topsp = self._resolve(res, int(R[vm.R_TOPSP]), "topSp", "topsp_in", "maxsp")
            if topt is None or topsp is None:  # the lower bound was not exact: run it again
                self.reruns += 1
                redo = Job(job.seq, job.n, job.T, job.kind, int(R[vm.R_TOPT]),
                           int(R[vm.R_TOPSP]))
                self.jobs[job.seq] = redo
                self._pending.insert(0, redo)
                break
            keys = ((vm.R_PREFS, "prefs"), (vm.R_INSTS, "insts"), (vm.R_TOTALT, "totalt"),
                    (vm.R_OFFMEM, "offmem"))
            for reg, key in keys:
                if res["absolute"]:
                    R[reg] = res[key]
                else:
                    R[reg] += res.get(key, 0)
            R[vm.R_TOPT], R[vm.R_TOPSP] = topt, topsp
            R[vm.R_T] = job.T
            o.stage = job.kind
            self.next_merge += 1
            if res["solved"]:
                prog = res["program"]
                a = int(res["acurrent"])
                o.st.qQ[a:a + len(prog)] = prog
                R[vm.R_QP] = a + len(prog) - 1
                R[vm.R_ACURRENT] = a
                events.append(o._freeze())
                o.solved.append(events[-1])
                for s in [s for s in self.jobs if s >= self.next_merge]:
                    self.jobs.pop(s)
                    self.snapshots.pop(s, None)
                self.results = {}
                self._pending = []
                self._start_n()
                self.cancel.value = self.seq  # stop every search of the solved task
            else:
                o._next_stage()
        return events

    @staticmethod
    def _resolve(res: dict[str, Any], true_in: int, out_key: str, in_key: str,
                 max_key: str) -> int | None:
        """The record (topt or topSp) after this search, given its true value before it.

        The search ran from a lower bound ``lower`` of the true value. Values a search sees
        only refresh the record when they exceed twice it, and ``max_key`` bounds them all.
        """
        if res["absolute"]:
            return int(res[out_key])
        lower, out = int(res[in_key]), int(res[out_key])
        if out == lower:  # nothing exceeded 2*lower <= 2*true_in
            return max(true_in, lower)
        if true_in == lower:
            return out
        if int(res.get(max_key, 1 << 62)) <= 2 * true_in:  # nothing exceeded 2*true_in
            return true_in
        return None

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The merged state, plus every unmerged search (with its snapshot when one exists)."""
        inflight = []
        for seq in sorted(self.jobs):
            job = self.jobs[seq]
            d = dict(job.__dict__)
            if seq in self.results:
                d["state"] = None  # finished: its result is saved below
            elif seq in self.snapshots:
                d["state"] = self.snapshots[seq]
            inflight.append(d)
        for job in self._pending:
            inflight.append(dict(job.__dict__))
        results = [self.results[s] for s in sorted(self.results) if s in self.jobs]
        return {"oops": self.oops.state_dict(), "inflight": inflight, "results": results,
                "reruns": self.reruns}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Continue from ``d``; the worker processes are restarted (a fresh cancellation flag)."""
        self.close()
        self._setup(OOPS.from_state_dict(d["oops"]), d.get("inflight") or None,
                    d.get("results") or None)
        self.reruns = int(d.get("reruns", 0))

    @classmethod
    def from_state_dict(cls, d: dict[str, Any], workers: int = 2,
                        snapshot_s: float = 300.0, backend: str = "process") -> ParallelOOPS:
        par = cls(OOPS.from_state_dict(d["oops"]), workers, snapshot_s,
                  inflight=d.get("inflight") or None, results=d.get("results") or None,
                  backend=backend)
        par.reruns = int(d.get("reruns", 0))
        return par


__all__ = ["Job", "ParallelOOPS", "RayWorker", "run_job"]
