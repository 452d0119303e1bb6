"""The one surface an experiment imports from the harness.

An experiment module declares a config dataclass and ``run(ctx, cfg) -> Result``, registers an
:class:`Experiment` (with its papers' :class:`Ref` figures and a ``smoke`` criterion), and drives
its algorithms through the :class:`RunContext` (random stream, logging, progress, checkpoints,
plot paths). Experiments made of many independent jobs use :func:`run_jobs` (jobs checkpointed
inside) or :func:`collect` (atomic records, possibly from a pool of processes) rather than a
hand-written resume loop. See docs/architecture.md for a worked example.
"""

from metahook.core.sweep import Job, Stage, collect, run_jobs
from metahook.harness import plots
from metahook.harness.checkpoint import atomic_write_bytes, atomic_write_json
from metahook.harness.context import RunContext
from metahook.harness.errors import RunInterrupted, UsageError
from metahook.harness.registry import Experiment, Ref, Result, register

__all__ = ["Experiment", "Job", "Ref", "Result", "RunContext", "RunInterrupted", "Stage",
           "UsageError", "atomic_write_bytes", "atomic_write_json", "collect", "plots", "register",
           "run_jobs"]
