"""The reference figures of every experiment, with their provenance, read from data files.

One TOML file per system sits beside this module (``oops.toml``, ``ssa.toml``, ``godel.toml``,
``neural.toml``, ``evolution.toml``, ``harness.toml``). Under a table named after an experiment,
each figure is one sub-table::

    [pole-double.cosyne]
    value = 954
    unit = "evaluations"
    source = "Gomez, Schmidhuber & Miikkulainen, JMLR 9 (2008), Table 3 (...)"
    status = "secondary"                  # how far it was checked: see STATUSES
    metric = "cosyne_mean_evaluations"    # optional: the metric of ours it compares with
    compare = "<="                        # optional (default "~"): see Ref
    note = "..."                          # optional

An experiment builds its ``reference`` with ``refs("evolution", "pole-double")``.

``oops.toml`` also holds the original OOPS program's own run (``[original_run]``: its counters
at every task it solved), the one source of those counters for the code and the tests
(:func:`original_run`). A figure there may take its value from that run instead of ``value``:
``program = "1n2n:6"`` is the run's ``totalt`` when it solved 1ⁿ2ⁿ n = 6, and ``since =
"1n2n:30"`` subtracts the ``totalt`` of another solved task (time steps after a phase start).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from metahook.harness.registry import STATUSES, Ref

_REQUIRED = ("unit", "source", "status")
_OPTIONAL = ("metric", "compare", "note")
_FROM_RUN = ("program", "since")
# Tables of a data file that are not experiments.
EXTRA_TABLES = ("original_run",)


def systems() -> list[str]:
    """The names of the data files (without ``.toml``), sorted."""
    names = [p.name.removesuffix(".toml") for p in resources.files(__name__).iterdir()
             if p.name.endswith(".toml")]
    return sorted(names)


@functools.cache
def load(system: str) -> dict[str, Any]:
    """The parsed data file ``<system>.toml`` (cached; do not modify the result)."""
    if system not in systems():
        raise ValueError(f"no reference file for system {system!r}; have {', '.join(systems())}")
    text = resources.files(__name__).joinpath(f"{system}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def experiments(system: str) -> list[str]:
    """The experiments whose figures ``<system>.toml`` holds, in file order."""
    return [k for k in load(system) if k not in EXTRA_TABLES]


def refs(system: str, experiment: str) -> dict[str, Ref]:
    """The reference figures of ``experiment`` from ``<system>.toml``, in file order."""
    data = load(system)
    if experiment not in data or experiment in EXTRA_TABLES:
        raise ValueError(f"{system}.toml has no figures for experiment {experiment!r}")
    return {key: _ref(system, experiment, key, entry) for key, entry in data[experiment].items()}


def _ref(system: str, experiment: str, key: str, entry: dict[str, Any]) -> Ref:
    where = f"{system}.toml [{experiment}.{key}]"
    unknown = set(entry) - {"value", *_REQUIRED, *_OPTIONAL, *_FROM_RUN}
    missing = [k for k in _REQUIRED if k not in entry]
    if unknown or missing:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}, missing keys {missing}")
    if ("value" in entry) == ("program" in entry):
        raise ValueError(f"{where}: give exactly one of value and program")
    value: float | int | str
    if "program" in entry:
        since = run_totalt(entry["since"]) if "since" in entry else 0
        value = run_totalt(entry["program"]) - since
    elif "since" in entry:
        raise ValueError(f"{where}: since needs program")
    else:
        value = entry["value"]
    extra = {k: entry[k] for k in _OPTIONAL if k in entry}
    try:
        return Ref(value, entry["unit"], entry["source"], status=entry["status"], **extra)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


@dataclass(frozen=True)
class ProgramRow:
    """The original OOPS program's counters when it solved one task (see ``[original_run]``).

    ``totalt``: total time steps since the start of the whole run; ``prefs``: prefixes tested;
    ``insts``: instructions executed (``None`` where that run reported them only rounded);
    ``topt``: longest single prefix run so far; ``topSp``: undo-stack high-water mark;
    ``program``: the program found (q from address 77), in the paper's token names.
    """

    phase: str
    n: int
    totalt: int
    prefs: int | None
    insts: int | None
    topt: int
    topSp: int
    program: str


@functools.cache
def _original_run() -> dict[tuple[str, int], ProgramRow]:
    rows = load("oops")["original_run"]["solved"]
    return {(r["phase"], r["n"]): ProgramRow(r["phase"], r["n"], r["totalt"], r.get("prefs"),
                                             r.get("insts"), r["topt"], r["topSp"], r["program"])
            for r in rows}


def original_run() -> dict[tuple[str, int], ProgramRow]:
    """The original OOPS program's run: ``(phase, n)`` -> its counters, in the order solved."""
    return dict(_original_run())


def run_totalt(task: str) -> int:
    """The original run's ``totalt`` at ``task``, written ``"<phase>:<n>"`` (e.g. ``"1n2n:6"``)."""
    phase, _, n = task.partition(":")
    row = _original_run().get((phase, int(n) if n.isdigit() else -1))
    if row is None:
        raise ValueError(f"the original run did not solve {task!r}")
    return row.totalt


__all__ = ["EXTRA_TABLES", "STATUSES", "ProgramRow", "experiments", "load", "original_run", "refs",
           "run_totalt", "systems"]
