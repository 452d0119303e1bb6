"""The run context: what the harness hands an experiment's ``run(ctx, config)``.

It gives the run its randomness (``ctx.rng``, seeded from ``--seed``; nothing reads global random
state), a place for files (``ctx.out``, ``ctx.plot_path(name)``), a metrics log
(``ctx.log(step, **values)`` appends one line to ``metrics.jsonl``), progress reporting
(``ctx.progress(done, total)``) and checkpoints::

    state = ctx.restore()                 # None on a fresh run, the saved state on --resume
    it = 0 if state is None else state["it"]
    while it < cfg.iterations:
        ...                               # one budgeted step of the algorithm
        it += 1
        ctx.log(it, loss=loss)
        ctx.checkpoint(lambda: {"it": it, "params": params})   # saved when due

``checkpoint`` saves when ``checkpoint_every_s`` seconds have passed since the last save, and
always after Ctrl-C (or once the optional ``stop_check()``, polled there at most ten times a
second, says to stop: ``metahook reproduce`` stops its workers so), after which it raises
:class:`RunInterrupted` (the CLI exits 130). The state
of ``ctx.rng`` and the number of metrics lines are saved with every checkpoint, so a resumed run
continues exactly where the saved one stood and ends with the same result as an uninterrupted one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from metahook.harness import checkpoint as ckpt
from metahook.harness.errors import RunInterrupted

ProgressSink = Callable[[float, float, str], None]


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class RunContext:
    """See the module docstring."""

    def __init__(
        self,
        out: Path,
        seed: int,
        scale: str,
        *,
        checkpoint_every_s: float = 30.0,
        progress_sink: ProgressSink | None = None,
        resume: bool = False,
        stop_check: Callable[[], bool] | None = None,
    ) -> None:
        self.out = Path(out)
        self.seed = int(seed)
        self.scale = scale
        self.rng = np.random.default_rng(self.seed)
        self.checkpoint_every_s = float(checkpoint_every_s)
        self.stop_requested = False
        self._stop_check = stop_check
        self._last_stop_check = 0.0
        self._sink = progress_sink
        self._last_progress = 0.0
        self._metrics_path = self.out / "metrics.jsonl"
        self._metrics_lines = 0
        self._ckpt_dir = self.out / "checkpoint"
        self._seq = 0
        self._last_save = time.monotonic()
        self._wall_before = 0.0
        self._started = time.monotonic()
        self._restored: dict[str, Any] | None = None
        self.resumed = False
        if resume:
            self._load()

    # ----------------------------------------------------------------- randomness
    def torch_generator(self, offset: int = 0) -> Any:
        """A ``torch.Generator`` seeded from the run's seed (plus ``offset``)."""
        import torch

        gen = torch.Generator()
        gen.manual_seed(self.seed * 1_000_003 + offset)
        return gen

    # ----------------------------------------------------------------- files
    def plot_path(self, name: str) -> Path:
        """Where to save a plot (``plots/<name>``, PNG)."""
        folder = self.out / "plots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / (name if name.endswith(".png") else f"{name}.png")

    # ----------------------------------------------------------------- metrics
    def log(self, step: int | float, **values: Any) -> None:
        """Append one line ``{"step": step, **values}`` to ``metrics.jsonl``."""
        line = json.dumps({"step": _jsonable(step), **_jsonable(values)}, sort_keys=True)
        with self._metrics_path.open("a") as fh:
            fh.write(line + "\n")
        self._metrics_lines += 1

    # ----------------------------------------------------------------- progress
    def progress(self, done: float, total: float, description: str = "") -> None:
        """Report progress (throttled to ten updates a second)."""
        if self._sink is None:
            return
        now = time.monotonic()
        if done < total and now - self._last_progress < 0.1:
            return
        self._last_progress = now
        self._sink(float(done), float(total), description)

    # ----------------------------------------------------------------- checkpoints
    @property
    def wall_s(self) -> float:
        """Wall-clock seconds of this run so far, summed over resumed segments."""
        return self._wall_before + time.monotonic() - self._started

    def restore(self) -> dict[str, Any] | None:
        """The state saved by the last checkpoint when resuming, else ``None``."""
        return self._restored

    def checkpoint(self, make_state: Callable[[], dict[str, Any]], force: bool = False) -> None:
        """Save ``make_state()`` if due (or forced, or Ctrl-C was pressed); see module docs."""
        now = time.monotonic()
        if (not self.stop_requested and self._stop_check is not None
                and now - self._last_stop_check >= 0.1):
            self._last_stop_check = now
            self.stop_requested = bool(self._stop_check())
        due = force or self.stop_requested or now - self._last_save >= self.checkpoint_every_s
        if due:
            self._save(make_state())
            self._last_save = now
        if self.stop_requested:
            raise RunInterrupted(f"interrupted; checkpoint saved in {self._ckpt_dir}")

    def _save(self, state: dict[str, Any]) -> None:
        self._seq += 1
        harness = {
            "metrics_lines": self._metrics_lines,
            "wall_s": self.wall_s,
            "rng": ckpt.rng_state(self.rng),
        }
        ckpt.save(self._ckpt_dir, {"harness": harness, "user": state}, self._seq)

    def _load(self) -> None:
        state, seq = ckpt.load(self._ckpt_dir)
        harness = state["harness"]
        self._seq = seq
        self._wall_before = float(harness["wall_s"])
        ckpt.set_rng_state(self.rng, harness["rng"])
        self._metrics_lines = int(harness["metrics_lines"])
        self._restored = state["user"]
        self.resumed = True

    def truncate_metrics(self) -> None:
        """On resume: drop metrics lines written after the checkpoint was taken."""
        if not self._metrics_path.exists():
            self._metrics_path.touch()
            return
        lines = self._metrics_path.read_text().splitlines(keepends=True)
        kept = lines[: self._metrics_lines]
        ckpt.atomic_write_bytes(self._metrics_path, "".join(kept).encode())

    def clear_checkpoints(self) -> None:
        """Remove ``checkpoint/`` once the run has finished."""
        if self._ckpt_dir.is_dir():
            for f in self._ckpt_dir.iterdir():
                f.unlink(missing_ok=True)
            self._ckpt_dir.rmdir()

    def validate_checkpoint(self) -> None:
        """Raise a UsageError now if the checkpoint is missing or corrupt (used before writing)."""
        ckpt.load(self._ckpt_dir)
