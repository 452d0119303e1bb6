"""The results ledger: the committed runs that every figure in README.md and docs/ is taken from.

A ledger is a folder (``results/`` at the repository's root) of run folders
``<experiment>/<label>/``, each holding what ``metahook run`` wrote -- ``result.json``,
``config.json``, ``metrics.jsonl`` (evenly thinned when large) and ``plots/*.png`` -- plus
``command.txt``, the exact command that produced the run. :func:`add` copies a finished run in;
:func:`load` reads the ledger back; :func:`lookup` resolves a figure's path inside a run's
metrics, which is how :mod:`metahook.harness.claims` checks the docs against the ledger and how
the report's "Papers vs metahook" section is built.

A path is dotted: ``cosyne_all_mean_evaluations``, ``lives.0.speedup`` (a list index), optionally
followed by one reduction (``~mean``, ``~median``, ``~min``, ``~max``, ``~sum``, ``~len``; not
``|``, which would split a Markdown table's cell) and a factor (``*100`` for a fraction shown in
per cent, ``/1e9``).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metahook.harness.checkpoint import atomic_write_bytes
from metahook.harness.errors import UsageError

LEDGER_DIR = "results"
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_METRICS_LINES = 2_000  # metrics.jsonl longer than this is thinned evenly to this many lines
FILES = ("result.json", "config.json", "metrics.jsonl", "command.txt")

_REDUCTIONS: dict[str, Any] = {
    "mean": statistics.fmean, "median": statistics.median, "min": min, "max": max, "sum": sum,
    "len": len,
}
_PATH_RE = re.compile(r"^(?P<path>[A-Za-z0-9_.@-]+)(?:~(?P<reduce>[a-z]+))?"
                      r"(?:(?P<op>[*/])(?P<factor>[0-9.eE+-]+))?$")


@dataclass
class Entry:
    """One committed run: its folder, ``result.json`` and ``config.json``."""

    experiment: str
    label: str
    folder: Path
    result: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    command: str = ""

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.label}"

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.result.get("metrics", {}))

    @property
    def plots(self) -> list[Path]:
        return sorted((self.folder / "plots").glob("*.png"))


def find_ledger(start: Path | None = None) -> Path | None:
    """The ``results/`` folder of the repository holding ``start`` (default: the working
    directory), looking upwards; None when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / LEDGER_DIR
        if candidate.is_dir() and any(candidate.glob("*/*/result.json")):
            return candidate
    return None


def load(ledger: Path) -> dict[str, Entry]:
    """Every run of the ledger, keyed ``experiment/label``."""
    ledger = Path(ledger)
    if not ledger.is_dir():
        raise UsageError(f"{ledger} is not a results ledger folder (results/<experiment>/<label>/)")
    entries: dict[str, Entry] = {}
    for result in sorted(ledger.glob("*/*/result.json")):
        folder = result.parent
        try:
            doc = json.loads(result.read_text())
            cfg_path = folder / "config.json"
            cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
        except ValueError as exc:
            raise UsageError(f"corrupt ledger file in {folder}: {exc}") from None
        cmd_path = folder / "command.txt"
        command = cmd_path.read_text().strip() if cmd_path.is_file() else ""
        entry = Entry(folder.parent.name, folder.name, folder, doc, cfg, command)
        entries[entry.key] = entry
    return entries


def lookup(metrics: dict[str, Any], spec: str) -> float | int | str | None:
    """The value ``spec`` names in ``metrics`` (see the module docstring for the syntax)."""
    m = _PATH_RE.match(spec.strip())
    if m is None:
        raise KeyError(f"bad ledger path {spec!r}")
    value: Any = metrics
    parts = m["path"].split(".")
    while parts:
        if isinstance(value, dict):
            # the longest run of parts that names a key: keys may hold dots (``als@0.01_steps``)
            for n in range(len(parts), 0, -1):
                if ".".join(parts[:n]) in value:
                    value, parts = value[".".join(parts[:n])], parts[n:]
                    break
            else:
                raise KeyError(f"{spec}: no {parts[0]!r} in the run's metrics")
        elif isinstance(value, list) and re.fullmatch(r"-?\d+", parts[0]):
            idx = int(parts.pop(0))
            if not -len(value) <= idx < len(value):
                raise KeyError(f"{spec}: index {idx} out of range ({len(value)} items)")
            value = value[idx]
        else:
            raise KeyError(f"{spec}: no {parts[0]!r} in the run's metrics")
    if m["reduce"]:
        if m["reduce"] not in _REDUCTIONS:
            raise KeyError(f"{spec}: unknown reduction {m['reduce']!r}; valid: "
                           + ", ".join(_REDUCTIONS))
        if not isinstance(value, list):
            raise KeyError(f"{spec}: ~{m['reduce']} needs a list")
        value = _REDUCTIONS[m["reduce"]](value)
    if m["op"]:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise KeyError(f"{spec}: {m['op']}{m['factor']} needs a number, got {value!r}")
        factor = float(m["factor"])
        value = value * factor if m["op"] == "*" else value / factor
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is None or isinstance(value, (int, float, str)):
        return value
    raise KeyError(f"{spec}: names a {type(value).__name__}, not a figure")


def _thin(lines: list[str], keep: int) -> list[str]:
    """``keep`` lines spread evenly over ``lines``, the first and the last included."""
    if len(lines) <= keep:
        return lines
    idx = sorted({round(i * (len(lines) - 1) / (keep - 1)) for i in range(keep)})
    return [lines[i] for i in idx]


def add(run_dir: Path, ledger: Path, label: str, command: str | None = None,
        replace: bool = False) -> Path:
    """Copy the finished run in ``run_dir`` into ``ledger/<experiment>/<label>/``.

    ``command`` is the exact command that produced the run (default: the run's own
    ``command.txt``). A run that is unfinished or failed is refused, and so is an existing
    ledger entry unless ``replace``.
    """
    run_dir, ledger = Path(run_dir), Path(ledger)
    result_path = run_dir / "result.json"
    if not result_path.is_file():
        raise UsageError(f"{run_dir} holds no result.json: only finished runs enter the ledger")
    try:
        doc = json.loads(result_path.read_text())
    except ValueError as exc:
        raise UsageError(f"corrupt {result_path}: {exc}") from None
    if doc.get("status") != "ok":
        raise UsageError(f"{run_dir}: status {doc.get('status')!r}; only 'ok' runs enter "
                         "the ledger")
    if not LABEL_RE.match(label):
        raise UsageError(f"bad label {label!r}: letters, digits, '_', '.', '-' only")
    if command is None:
        cmd_file = run_dir / "command.txt"
        if not cmd_file.is_file():
            raise UsageError(f"{run_dir} has no command.txt; pass the command that made the run")
        command = cmd_file.read_text().strip()
    target = ledger / str(doc["experiment"]) / label
    if target.exists() and not replace:
        raise UsageError(f"{target} exists; pass --replace to overwrite it")
    tmp = target.with_name(f".{label}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    notes = [command]
    for name in ("result.json", "config.json"):
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, tmp / name)
    metrics = run_dir / "metrics.jsonl"
    if metrics.is_file():
        lines = metrics.read_text().splitlines()
        kept = _thin(lines, MAX_METRICS_LINES)
        if len(kept) < len(lines):
            notes.append(f"# metrics.jsonl thinned evenly: {len(kept)} of {len(lines)} lines kept")
        atomic_write_bytes(tmp / "metrics.jsonl", ("\n".join(kept) + "\n").encode())
    if (run_dir / "plots").is_dir():
        shutil.copytree(run_dir / "plots", tmp / "plots")
    atomic_write_bytes(tmp / "command.txt", ("\n".join(notes) + "\n").encode())
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def size_bytes(ledger: Path) -> int:
    """Bytes of every file in the ledger."""
    return sum(p.stat().st_size for p in Path(ledger).rglob("*") if p.is_file())
