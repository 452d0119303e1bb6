"""Running one experiment into a run directory.

``DIR/config.json`` (experiment, scale, seed, config) is written first, then ``metrics.jsonl``
grows as the run logs, ``checkpoint/`` holds the latest checkpoint while it runs, ``plots/*.png``
are written by the experiment, and ``result.json`` (DESIGN.md's format) ends it.

All input is validated before the directory is touched: an unknown experiment, scale or config
key, a value of the wrong type, a directory that already holds another run, or a missing or
corrupt checkpoint on ``resume`` raise :class:`UsageError` with nothing written.
"""

from __future__ import annotations

import json
import shutil
import signal
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from metahook.harness import checkpoint as ckpt
from metahook.harness import config as config_mod
from metahook.harness.context import ProgressSink, RunContext
from metahook.harness.errors import RunInterrupted, UsageError
from metahook.harness.registry import Experiment, Result, get_experiment
from metahook.harness.versions import versions


@contextmanager
def _sigint_requests_stop(ctx: RunContext) -> Iterator[None]:
    """First Ctrl-C asks the run to checkpoint and stop; a second one interrupts at once."""
    try:
        previous = signal.getsignal(signal.SIGINT)
    except ValueError:  # not in the main thread
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if ctx.stop_requested:
            raise KeyboardInterrupt
        ctx.stop_requested = True

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _prepare(
    name: str, scale: str | None, seed: int | None, out: Path, resume: bool, overrides: list[str]
) -> tuple[Experiment, Any, str, int]:
    exp = get_experiment(name)
    if not resume:
        scale = scale or "quick"
        cfg = config_mod.apply_overrides(exp.config_for(scale), overrides, exp.name)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError(
                f"{out} already holds files; use --resume to continue that run, or another --out"
            )
        return exp, cfg, scale, 0 if seed is None else int(seed)
    saved_path = out / "config.json"
    if not saved_path.is_file():
        raise UsageError(f"no run to resume in {out} (config.json missing); run without --resume")
    try:
        saved = json.loads(saved_path.read_text())
        saved_cfg = config_mod.from_json(exp.config, saved["config"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"corrupt config.json in {out}: {exc}") from None
    if saved.get("experiment") != exp.name:
        raise UsageError(f"{out} holds a run of {saved.get('experiment')!r}, not {exp.name!r}")
    if scale is not None and scale != saved["scale"]:
        raise UsageError(f"{out} was run at scale {saved['scale']!r}; resume it without --scale")
    if seed is not None and int(seed) != int(saved["seed"]):
        raise UsageError(f"{out} was run with seed {saved['seed']}; resume it without --seed")
    if overrides:
        raise UsageError("--set cannot change a run being resumed; its config.json is kept")
    if not ckpt.exists(out / "checkpoint") and (out / "result.json").is_file():
        raise UsageError(f"the run in {out} has finished (result.json exists); nothing to resume")
    ckpt.load(out / "checkpoint")  # missing or corrupt -> UsageError, nothing written
    return exp, saved_cfg, saved["scale"], int(saved["seed"])


def run_experiment(
    name: str,
    *,
    out: Path | str,
    scale: str | None = None,
    seed: int | None = None,
    resume: bool = False,
    overrides: list[str] | None = None,
    checkpoint_every_s: float = 30.0,
    progress_sink: ProgressSink | None = None,
    catch_errors: bool = False,
) -> dict[str, Any]:
    """Run (or resume) experiment ``name`` into ``out``; return the result.json content.

    Raises :class:`UsageError` for bad input (nothing written) and :class:`RunInterrupted` after
    Ctrl-C (a last checkpoint written). Other exceptions propagate unless ``catch_errors``, in
    which case ``result.json`` records ``status: "error"`` and the checkpoint is kept.
    """
    out = Path(out)
    exp, cfg, scale, seed = _prepare(name, scale, seed, out, resume, list(overrides or []))
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        ckpt.atomic_write_json(
            out / "config.json",
            {"experiment": exp.name, "scale": scale, "seed": seed,
             "config": config_mod.to_json(cfg)},
        )
    ctx = RunContext(
        out, seed, scale, checkpoint_every_s=checkpoint_every_s,
        progress_sink=progress_sink, resume=resume,
    )
    if resume:
        ctx.truncate_metrics()
    else:
        (out / "metrics.jsonl").touch()
    status, error = "ok", ""
    metrics: dict[str, Any] = {}
    notes = ""
    with _sigint_requests_stop(ctx):
        try:
            result = exp.run(ctx, cfg)
            if not isinstance(result, Result):
                raise TypeError(f"{exp.name}.run returned {type(result).__name__}, not Result")
            status, metrics, notes = result.status, dict(result.metrics), result.notes
        except (RunInterrupted, UsageError, KeyboardInterrupt):
            raise
        except Exception as exc:
            if not catch_errors:
                raise
            status, error = "error", f"{type(exc).__name__}: {exc}"
            notes = traceback.format_exc()
    metrics.setdefault("wall_s", round(ctx.wall_s, 3))
    doc: dict[str, Any] = {
        "experiment": exp.name,
        "system": exp.system,
        "paper": exp.paper,
        "scale": scale,
        "seed": seed,
        "status": status,
        "metrics": _json_safe(metrics),
        "reference": {k: r.to_json() for k, r in exp.reference.items()},
        "versions": versions(),
    }
    if error:
        doc["error"] = error
    if notes:
        doc["notes"] = notes
    ckpt.atomic_write_json(out / "result.json", doc)
    if status != "error":
        ctx.clear_checkpoints()
    return doc


def _json_safe(value: Any) -> Any:
    """Round-trip through json so numpy scalars and tuples become plain JSON values."""
    import numpy as np

    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        raise TypeError(f"metric of type {type(obj).__name__} is not JSON")

    return json.loads(json.dumps(value, default=default))


def remove_run(out: Path) -> None:
    """Delete a run directory (used by ``reproduce``, which owns its experiment folders)."""
    if out.is_dir():
        shutil.rmtree(out)
