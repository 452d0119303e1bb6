"""Running one experiment into a run directory.

``DIR/config.json`` (experiment, scale, seed, config) is written first, then ``metrics.jsonl``
grows as the run logs, ``checkpoint/`` holds the latest checkpoint while it runs, ``plots/*.png``
are written by the experiment, and ``result.json`` (DESIGN.md's format) ends it.

All input is validated before the directory is touched: an unknown experiment, scale or config
key, a value of the wrong type or out of range, a seed outside ``0..SEED_MAX``, a negative
checkpoint interval, an output folder that cannot be created or already holds another run, and on
``resume`` a ``config.json`` that fails the checks ``--set`` gets or a corrupt checkpoint raise
:class:`UsageError` with nothing written.

``resume`` continues from the checkpoint; a run that has none (killed or interrupted before its
first one, or ended in ``error`` without one) starts again from the beginning with its saved
seed and config. A run whose ``result.json`` says it finished (any status but ``interrupted`` or
``error``) is not resumed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from metahook.harness import checkpoint as ckpt
from metahook.harness import config as config_mod
from metahook.harness.context import ProgressSink, RunContext
from metahook.harness.errors import RunInterrupted, UsageError, choices
from metahook.harness.registry import SCALES, Experiment, Result, get_experiment
from metahook.harness.versions import versions

SEED_MAX = 2**32 - 1
"""Seeds are ``0..SEED_MAX``: numpy, torch and the experiments' derived seeds all accept them."""

UNFINISHED = ("interrupted", "error")
"""``result.json`` statuses that ``--resume`` continues; any other status is a finished run."""

Notify = Callable[[str], None]


def check_seed(seed: Any) -> int:
    """``seed`` as an int in ``0..SEED_MAX``, else a :class:`UsageError`."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise UsageError(f"bad seed {seed!r}: expected an integer in 0..{SEED_MAX}")
    return seed


def check_checkpoint_every(seconds: Any) -> float:
    """Seconds between checkpoints: a finite number >= 0 (0: at every chance), else UsageError."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(seconds, bool) or not math.isfinite(value) or value < 0:
        raise UsageError(f"bad checkpoint interval {seconds!r}: expected seconds, a finite "
                         "number >= 0 (0: checkpoint at every chance)")
    return value


def check_out(out: Path, what: str = "--out") -> None:
    """UsageError unless ``out`` is a writable folder or one that can be created (nothing made)."""
    try:
        if out.exists():
            if not out.is_dir():
                raise UsageError(f"cannot use {what} {out}: it is a file, not a folder")
            if not os.access(out, os.W_OK | os.X_OK):
                raise UsageError(f"cannot write into {what} {out}: permission denied")
            return
        parent = out.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise UsageError(f"cannot create {what} {out}: {parent} is a file, not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"cannot create {what} {out}: {parent} is not writable")
    except OSError as exc:
        raise UsageError(f"cannot use {what} {out}: {exc.strerror or exc}") from None


def make_folder(out: Path, what: str = "--out") -> None:
    """Create ``out`` (and its parents); an OSError becomes a one-line :class:`UsageError`."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {what} {out}: {exc.strerror or exc}") from None


def read_saved_run(out: Path) -> dict[str, Any]:
    """The ``config.json`` of the run in ``out``, its experiment, scale and seed checked.

    Raises :class:`UsageError` when it is missing or malformed (the ``config`` itself is checked
    against the experiment's config class by :func:`_prepare`).
    """
    path = out / "config.json"
    if not path.is_file():
        raise UsageError(f"no run to resume in {out} (config.json missing); run without --resume")
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"corrupt config.json in {out}: {exc}") from None
    if not isinstance(saved, dict) or not {"experiment", "scale", "seed", "config"} <= set(saved):
        raise UsageError(f"corrupt config.json in {out}: expected an object with keys "
                         "config, experiment, scale, seed")
    if saved["scale"] not in SCALES:
        raise UsageError(f"corrupt config.json in {out}: unknown scale {saved['scale']!r}; "
                         f"valid: {choices(list(SCALES))}")
    try:
        check_seed(saved["seed"])
    except UsageError as exc:
        raise UsageError(f"corrupt config.json in {out}: {exc}") from None
    return saved


def read_result(out: Path) -> dict[str, Any] | None:
    """The ``result.json`` in ``out`` (None if there is none); a corrupt one is a UsageError."""
    path = out / "result.json"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"corrupt result.json in {out}: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"corrupt result.json in {out}: not a JSON object")
    return doc


def is_finished(result: dict[str, Any] | None) -> bool:
    """Whether a ``result.json`` content records a finished run (see :data:`UNFINISHED`)."""
    return result is not None and result.get("status") not in UNFINISHED


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
) -> tuple[Experiment, Any, str, int, bool]:
    """Validate everything; return ``(experiment, config, scale, seed, from_checkpoint)``."""
    exp = get_experiment(name)
    if seed is not None:
        check_seed(seed)
    if not resume:
        scale = scale or "quick"
        cfg = config_mod.apply_overrides(exp.config_for(scale), overrides, exp.name)
        check_out(out)
        if out.exists() and any(out.iterdir()):
            raise UsageError(
                f"{out} already holds files; use --resume to continue that run, or another --out"
            )
        return exp, cfg, scale, 0 if seed is None else int(seed), False
    if out.exists() and not out.is_dir():
        raise UsageError(f"no run to resume in {out}: it is a file, not a run folder")
    saved = read_saved_run(out)
    if saved["experiment"] != exp.name:
        raise UsageError(f"{out} holds a run of {saved['experiment']!r}, not {exp.name!r}")
    try:
        saved_cfg = config_mod.from_json(exp.config, saved["config"], exp.name)
    except UsageError as exc:
        raise UsageError(f"bad config.json in {out}: {exc}") from None
    if scale is not None and scale != saved["scale"]:
        raise UsageError(f"{out} was run at scale {saved['scale']!r}; resume it without --scale")
    if seed is not None and int(seed) != int(saved["seed"]):
        raise UsageError(f"{out} was run with seed {saved['seed']}; resume it without --seed")
    if overrides:
        raise UsageError("--set cannot change a run being resumed; its config.json is kept")
    check_out(out)
    if is_finished(read_result(out)):
        raise UsageError(f"the run in {out} has finished (result.json exists); nothing to resume")
    from_checkpoint = ckpt.exists(out / "checkpoint")
    if from_checkpoint:
        ckpt.load(out / "checkpoint")  # corrupt -> UsageError, nothing written
    return exp, saved_cfg, saved["scale"], int(saved["seed"]), from_checkpoint


def result_doc(
    exp: Experiment, scale: str, seed: int, status: str, metrics: dict[str, Any],
    error: str = "", notes: str = "",
) -> dict[str, Any]:
    """The content of ``result.json`` (DESIGN.md's format)."""
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
    return doc


RESUME_NOTE = "interrupted; `metahook run NAME --out DIR --resume` continues it"


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
    notify: Notify | None = None,
    stop_check: Callable[[], bool] | None = None,
    record_interrupted: bool = False,
    handle_sigint: bool = True,
) -> dict[str, Any]:
    """Run (or resume) experiment ``name`` into ``out``; return the result.json content.

    Raises :class:`UsageError` for bad input (nothing written) and :class:`RunInterrupted` after
    Ctrl-C (a last checkpoint written), or once ``stop_check()`` (polled at the run's checkpoint
    calls) says so. Other exceptions propagate unless ``catch_errors``, in which case
    ``result.json`` records ``status: "error"`` and the checkpoint is kept; an exception raised
    after a stop was requested counts as the interruption. With ``record_interrupted`` an
    interrupted run leaves a ``result.json`` with ``status: "interrupted"`` (its checkpoint kept)
    before the exception propagates. ``notify`` gets one-line notices (a resume that starts
    again from the beginning says so). ``handle_sigint=False`` leaves SIGINT alone (a
    ``reproduce`` worker ignores it and stops through ``stop_check`` when its parent says so).
    """
    out = Path(out)
    checkpoint_every_s = check_checkpoint_every(checkpoint_every_s)
    exp, cfg, scale, seed, from_checkpoint = _prepare(
        name, scale, seed, out, resume, list(overrides or []))
    if resume and not from_checkpoint and notify is not None:
        notify(f"no checkpoint in {out / 'checkpoint'}: starting the run from the beginning "
               f"(seed {seed}, scale {scale}, its saved config)")
    make_folder(out)
    if not resume:
        ckpt.atomic_write_json(
            out / "config.json",
            {"experiment": exp.name, "scale": scale, "seed": seed,
             "config": config_mod.to_json(cfg)},
        )
    else:
        (out / "result.json").unlink(missing_ok=True)  # a stale "interrupted" or "error"
    ctx = RunContext(
        out, seed, scale, checkpoint_every_s=checkpoint_every_s,
        progress_sink=progress_sink, resume=from_checkpoint, stop_check=stop_check,
    )
    if from_checkpoint:
        ctx.truncate_metrics()
    else:
        ckpt.atomic_write_bytes(out / "metrics.jsonl", b"")
    status, error = "ok", ""
    metrics: dict[str, Any] = {}
    notes = ""
    with _sigint_requests_stop(ctx) if handle_sigint else contextlib.nullcontext():
        try:
            if stop_check is not None and stop_check():
                raise RunInterrupted("interrupted before the run started")
            result = exp.run(ctx, cfg)
            if not isinstance(result, Result):
                raise TypeError(f"{exp.name}.run returned {type(result).__name__}, not Result")
            status, metrics, notes = result.status, dict(result.metrics), result.notes
        except (RunInterrupted, KeyboardInterrupt):
            if record_interrupted:
                _record_interrupted(exp, scale, seed, out, ctx.wall_s)
            raise
        except UsageError:
            raise
        except Exception as exc:
            if ctx.stop_requested:  # e.g. a worker pool of the run's own, broken by Ctrl-C
                if record_interrupted:
                    _record_interrupted(exp, scale, seed, out, ctx.wall_s)
                raise RunInterrupted(
                    f"interrupted ({type(exc).__name__} while stopping); last checkpoint kept"
                ) from exc
            if not catch_errors:
                raise
            status, error = "error", f"{type(exc).__name__}: {exc}"
            notes = traceback.format_exc()
    metrics.setdefault("wall_s", round(ctx.wall_s, 3))
    doc = result_doc(exp, scale, seed, status, metrics, error, notes)
    ckpt.atomic_write_json(out / "result.json", doc)
    if status != "error":
        ctx.clear_checkpoints()
    return doc


def _record_interrupted(exp: Experiment, scale: str, seed: int, out: Path, wall_s: float) -> None:
    doc = result_doc(exp, scale, seed, "interrupted", {"wall_s": round(wall_s, 3)},
                     notes=RESUME_NOTE)
    ckpt.atomic_write_json(out / "result.json", doc)


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
