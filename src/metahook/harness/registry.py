"""The experiment registry.

An experiment is a reproduced figure of a paper. It registers:

- ``name`` (e.g. ``oops-hanoi``), ``system`` (e.g. ``OOPS``), ``paper`` (the citation);
- ``reference``: the paper's figures, each a :class:`Ref` with its value, unit, source and status
  (how far it was checked), and the name of our metric that it compares with; experiments read
  them from the data files of :mod:`metahook.references`;
- ``config``: a dataclass type holding every hyperparameter (CleanRL style: all visible in one
  place), and ``scales``: one instance per scale -- ``quick`` (under a minute on two cores, run by
  the tests) and ``full`` (the paper's protocol);
- ``run(ctx, config) -> Result``.

Experiment modules live in :mod:`metahook.experiments` and call :func:`register` at import time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from metahook.harness.errors import UsageError, choices

if TYPE_CHECKING:
    from metahook.harness.context import RunContext

SCALES = ("quick", "full")

# How far a reference figure was checked (``Ref.status``), strongest first.
STATUSES: dict[str, str] = {
    "verified": "checked against the paper's own text",
    "secondary": "quoted through a secondary source; the paper's own text could not be read",
    "unconfirmed": "no checkable source was found; treat it as approximate",
    "program": "the output of the original authors' own program (its run or its published logs)",
    "derived": "computed from other figures, or what a theorem implies; its source gives how",
}


@dataclass(frozen=True)
class Ref:
    """One figure quoted from a paper (or from the original program's output).

    ``metric`` names the key of our ``result.json`` metrics that this figure compares with (empty
    when ours has no direct counterpart). ``compare`` says how to read the two side by side:
    ``"~"`` (same quantity, should be close), ``"<="`` (ours should be at most the paper's),
    ``">="`` (ours should be at least), or ``""`` (context only). ``status`` (keyword only) is one
    of :data:`STATUSES` and says how far the figure was checked.
    """

    value: float | int | str
    unit: str
    source: str
    metric: str = ""
    compare: str = "~"
    note: str = ""
    status: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Ref status {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.compare not in ("~", "<=", ">=", ""):
            raise ValueError(f"Ref compare {self.compare!r} is not one of ~, <=, >= or ''")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "unit": self.unit, "source": self.source,
                               "status": self.status}
        if self.metric:
            out["metric"] = self.metric
            out["compare"] = self.compare
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Result:
    """What a run returns: its metrics (numbers, strings, small lists/dicts) and a status."""

    metrics: dict[str, Any]
    status: str = "ok"
    notes: str = ""


RunFn = Callable[["RunContext", Any], Result]
SmokeFn = Callable[[dict[str, Any]], tuple[bool, str]]


@dataclass(frozen=True)
class Experiment:
    """A registered experiment; see the module docstring."""

    name: str
    system: str
    paper: str
    config: type
    scales: dict[str, Any]
    run: RunFn
    reference: dict[str, Ref] = field(default_factory=dict)
    description: str = ""
    # The quick scale's own criterion: metrics -> (passed, one line saying what was checked).
    # The report shows it for smoke runs, and the experiment's quick-scale test asserts it.
    smoke: SmokeFn | None = None

    def __post_init__(self) -> None:
        if not dataclasses.is_dataclass(self.config):
            raise TypeError(f"{self.name}: config must be a dataclass type")
        missing = [s for s in SCALES if s not in self.scales]
        if missing:
            raise TypeError(f"{self.name}: scales {missing} missing (need {SCALES})")
        for scale, cfg in self.scales.items():
            if not isinstance(cfg, self.config):
                raise TypeError(f"{self.name}: scale {scale!r} is not a {self.config.__name__}")

    def config_for(self, scale: str) -> Any:
        if scale not in self.scales:
            raise UsageError(
                f"unknown scale {scale!r} for {self.name}; valid: {choices(list(self.scales))}"
            )
        return dataclasses.replace(self.scales[scale])


_REGISTRY: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    """Add an experiment to the registry (at import time of its module)."""
    if exp.name in _REGISTRY and _REGISTRY[exp.name] is not exp:
        raise ValueError(f"experiment {exp.name!r} registered twice")
    _REGISTRY[exp.name] = exp
    return exp


def _load_all() -> None:
    from metahook.experiments import load_all

    load_all()


def _index() -> dict[str, str]:
    """Experiment name -> module, read from the sources: ``Experiment(name=...)`` calls and
    family helpers named ``register_*`` whose first argument is the name."""
    from metahook.harness.lazy import index

    return index("metahook.experiments", "Experiment", prefix="register_")


def _load_one(name: str) -> None:
    """Import just the module that registers ``name`` (see :mod:`metahook.harness.lazy`)."""
    import importlib

    module = _index().get(name)
    if module is not None:
        importlib.import_module(module)


def all_experiments() -> list[Experiment]:
    """Every registered experiment, sorted by name."""
    _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def experiment_names() -> list[str]:
    """Every experiment's name, read from the sources without importing them.

    A test checks that this equals the names :func:`all_experiments` registers.
    """
    return sorted(set(_index()) | set(_REGISTRY))


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``, or a :class:`UsageError` naming the valid ones."""
    if name not in _REGISTRY:
        _load_one(name)
    if name not in _REGISTRY:
        raise UsageError(f"unknown experiment {name!r}; valid: {choices(experiment_names())}")
    return _REGISTRY[name]
