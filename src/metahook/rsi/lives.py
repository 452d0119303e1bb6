"""A protocol of whole lives, run one after another and checkpointed as they go.

The SSA papers measure a learner over one long life that is never reset (Schmidhuber, Zhao &
Wiering, ML 28, 1997; Schmidhuber, Zhao & Schraudolph, 1997): an experiment is a list of lives
(the runs with SSA, then the baselines), each with its own budget of time steps. The driver:

1. draw one seed per life once (kept in every checkpoint, so a resumed run never redraws);
2. for each life in turn: build it from its seed, advance it chunk by chunk (``step``) with a
   checkpoint after every chunk, then ``summarise`` it and checkpoint between lives;
3. on resume, rebuild the life that was running and load its saved state, so that the run ends
   exactly as an uninterrupted one.

It is :func:`metahook.core.sweep.run_jobs` with the seeds as the jobs' shared state. With
``backend="ray"`` every life is one Ray task (the seeds are still drawn here, once), with the
same results; the run then checkpoints between lives, not inside them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from metahook.core.sweep import Checkpointer, Job, run_jobs

L = TypeVar("L", bound=Job)


def run_lives(ctx: Checkpointer, keys: Sequence[str], make: Callable[[int, int], L],
              step: Callable[[int, L], bool],
              summarise: Callable[[int, L], dict[str, Any]], backend: str = "process",
              workers: int | None = None) -> dict[str, Any]:
    """Run the lives named ``keys`` in order; return ``{key: summarise(index, life)}``.

    ``make(index, seed)`` builds life ``index``; ``step(index, life)`` advances it by one chunk
    (reporting progress) and returns True, or returns False once its budget is spent.
    ``backend``, ``workers``: as :func:`~metahook.core.sweep.run_jobs`'s.
    """

    def seeds() -> dict[str, Any]:
        return {"seeds": ctx.rng.integers(0, 2**63 - 1, size=len(keys))}

    def build(index: int, shared: dict[str, Any]) -> L:
        return make(index, int(shared["seeds"][index]))

    return run_jobs(ctx, keys, build, step, summarise, shared=seeds, backend=backend,
                    workers=workers)
