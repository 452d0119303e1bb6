"""Independent jobs as Ray tasks: the one place that starts, joins and leaves a Ray cluster.

Every long protocol in metahook that is a list of independent jobs (the runs of a pole study,
the experiments of ``metahook reproduce``) can run them on a Ray cluster instead of a local
process pool. This module is what they share:

- :func:`check_backend`: ``"process"`` (the default everywhere) or ``"ray"``;
- :func:`ray_address`: the cluster to join: an explicit address, else ``RAY_ADDRESS``, else none
  (start a local Ray on this machine);
- :func:`ray_session`: ``ray.init`` unless Ray is already initialised in this process (then the
  caller's cluster is used as it is), ``ray.shutdown`` on leaving only if it started Ray;
- :func:`ray_imap`: ``fn(item)`` for every item as one Ray task each (one CPU, one thread),
  yielding results as they finish.

Results do not depend on the backend: each job is a pure function of its item (its seeds are
derived from the item, never from the worker or the order), so a job that Ray retries after its
worker process died (``max_retries``) returns what the first attempt would have returned.
Ray is an optional dependency (the ``dev`` extra): importing this module does not import it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from typing import Any, TypeVar

BACKENDS = ("process", "ray")
"""The executors: ``process`` (local worker processes; the default) and ``ray``."""

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
"""Set to 1 in every worker, so that workers sharing a machine do not oversubscribe its cores."""

MAX_RETRIES = 3
"""How often Ray runs a task again after its worker process died (killed, out of memory)."""

T = TypeVar("T")
R = TypeVar("R")


def check_backend(backend: Any) -> str:
    """``backend`` if it names an executor, else ValueError with the valid ones."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    return str(backend)


def ray_address(address: str | None = None) -> str | None:
    """The Ray cluster to join: ``address``, else the ``RAY_ADDRESS`` environment variable, else
    None (a local Ray is started)."""
    if address:
        return address
    return os.environ.get("RAY_ADDRESS") or None


def import_ray() -> Any:
    """The ``ray`` module, or RuntimeError saying how to install it."""
    try:
        import ray
    except ImportError:  # pragma: no cover - depends on the environment
        raise RuntimeError("backend 'ray' needs the ray package: pip install 'ray>=2.9' "
                           "(or metahook's dev extra)") from None
    return ray


@contextmanager
def ray_session(num_cpus: int | None = None, address: str | None = None) -> Iterator[Any]:
    """Ray, initialised; yields the ``ray`` module.

    If Ray is already initialised in this process, that cluster is used and left running.
    Otherwise the cluster at :func:`ray_address` is joined, or, with none, a local Ray with
    ``num_cpus`` CPUs (None: all cores) is started; either is shut down on leaving.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    addr = ray_address(address)
    env = {"env_vars": {var: "1" for var in THREAD_VARS}}
    if addr:
        ray.init(address=addr, runtime_env=env, log_to_driver=False, configure_logging=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, runtime_env=env,
                 log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _single_threaded(fn: Callable[[T], R]) -> Callable[[T], R]:
    def call(item: T) -> R:
        for var in THREAD_VARS:
            os.environ[var] = "1"
        return fn(item)

    call.__name__ = getattr(fn, "__name__", "job")
    call.__qualname__ = getattr(fn, "__qualname__", "job")
    return call


def ray_imap(fn: Callable[[T], R], items: Iterable[T], num_cpus: int | None = None,
             address: str | None = None, max_retries: int = MAX_RETRIES) -> Iterator[R]:
    """``fn(item)`` for every item, one Ray task each; yields the results as they finish.

    ``fn`` must be importable by the workers (a module-level function of an installed package)
    and return picklable data. ``num_cpus`` sizes a local Ray that this call starts (see
    :func:`ray_session`). A task whose worker process dies is run again, up to ``max_retries``
    times; an exception raised by ``fn`` is not retried and propagates here.
    """
    with closing(ray_imap_idle(fn, items, num_cpus, address, max_retries, None)) as results:
        for _, result in results:
            yield result  # type: ignore[misc]


def ray_imap_idle(fn: Callable[[T], R], items: Iterable[T], num_cpus: int | None = None,
                  address: str | None = None, max_retries: int = MAX_RETRIES,
                  poll_s: float | None = 1.0) -> Generator[tuple[bool, R | None], None, None]:
    """:func:`ray_imap` that also says when it waits: yields ``(True, result)`` as results
    finish and ``(False, None)`` after every ``poll_s`` seconds without one (None: never), so
    that the consumer can look for Ctrl-C; closing it early cancels the tasks still pending."""
    todo = list(items)
    if not todo:
        return
    with ray_session(num_cpus, address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=max_retries,
                            retry_exceptions=False)(_single_threaded(fn))
        pending = [remote.remote(item) for item in todo]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=poll_s)
                if not done:
                    yield False, None
                for ref in done:
                    yield True, ray.get(ref)
        finally:
            for ref in pending:  # the consumer stopped early (an error, Ctrl-C)
                ray.cancel(ref, force=True)
