"""The experiment harness: registry, run directories, checkpoints, progress, reports, benchmarks.

Algorithms know nothing of it: an experiment's ``run(ctx, config)`` drives an algorithm over its
explicit state in budgeted steps and hands the harness what to log and what to checkpoint.
"""

from metahook.harness.context import RunContext
from metahook.harness.errors import RunInterrupted, UsageError
from metahook.harness.registry import Experiment, Ref, Result, register

__all__ = ["Experiment", "Ref", "Result", "RunContext", "RunInterrupted", "UsageError", "register"]
