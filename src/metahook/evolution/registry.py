"""The one registry of evolutionary algorithms: ``ALGORITHMS[name].make(hyper)``.

evosax's manner (Lange, *evosax: JAX-based evolution strategies*, 2022): every algorithm is
registered under the name the experiments, their configs and the docs use, and one API test runs
every registered algorithm through the same interface (``tests/test_evolution_registry.py``).

An entry's ``make`` takes the method's hyper-parameters as a mapping, read under the names of the
experiments' config fields (``cosyne_m``, ``esp_n``, ``esp_trials``, ...; an experiment passes
``dataclasses.asdict(cfg)``). A key that is missing leaves the algorithm's own default; keys of
other methods are ignored. ``evolves`` says what the algorithm's genotype is: whole networks
(CoSyNE, CMA-ES, the EvoTorch searchers) or neurons (ESP, H-ESP, which need at least one hidden
neuron and start from the experiments' ``esp_hidden``).

- ``cosyne``: CoSyNE, fitness-proportional permutation marking (Gomez et al. 2008);
  hyper-parameters ``cosyne_m``, ``cosyne_mutation_prob``, ``cosyne_alpha``;
- ``cosyne-all``: CoSyNE permuting every evaluated weight; the same hyper-parameters;
- ``esp``: ESP with burst mutation and network-size adaptation (Gomez & Miikkulainen 1997);
  ``esp_n``, ``esp_trials``, ``esp_adapt_size``;
- ``hesp``: H-ESP, ESP plus a level of whole networks (Gomez & Schmidhuber 2005); ``esp_n``,
  ``esp_trials``, ``level2_size``;
- ``cmaes``: CMA-ES through pycma (Igel 2003's baseline); ``cmaes_sigma0``;
- ``snes``, ``pgpe``, ``evotorch-cosyne``: EvoTorch's searchers with EvoTorch's defaults
  (optional package; :class:`~metahook.evolution.base.Driver`, not ask/tell).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from metahook.evolution.base import Algorithm, Driver
from metahook.evolution.cmaes import CMAES
from metahook.evolution.cosyne import CoSyNE
from metahook.evolution.esp import ESP, HESP
from metahook.evolution.evotorch_es import EvoTorchES, Kind, require_evotorch

Hyper = Mapping[str, Any]


@dataclass(frozen=True)
class AlgorithmEntry:
    """One registered algorithm (see the module docstring)."""

    name: str
    make: Callable[[Hyper], Algorithm | Driver]
    summary: str
    evolves: Literal["networks", "neurons"] = "networks"
    requires: Callable[[str], object] | None = None  # raises if an optional package is missing


def _pick(hyper: Hyper, **params: str) -> dict[str, Any]:
    """Keyword arguments ``param=hyper[key]`` for each ``param=key`` whose key is in ``hyper``."""
    return {param: hyper[key] for param, key in params.items() if key in hyper}


_COSYNE = {"m": "cosyne_m", "mutation_prob": "cosyne_mutation_prob", "alpha": "cosyne_alpha"}


def _cosyne(name: str, permute_prob: bool) -> Callable[[Hyper], Algorithm]:
    return lambda hp: CoSyNE(**_pick(hp, **_COSYNE), permute_prob=permute_prob, name=name)


def _evotorch(name: str, kind: Kind) -> AlgorithmEntry:
    return AlgorithmEntry(name, lambda hp: EvoTorchES(kind, name=name),
                          f"EvoTorch's {kind} (optional package evotorch)",
                          requires=require_evotorch)


ALGORITHMS: dict[str, AlgorithmEntry] = {e.name: e for e in (
    AlgorithmEntry("cosyne", _cosyne("cosyne", True),
                   "CoSyNE with the fitness-proportional permutation marking (Gomez et al. 2008)"),
    AlgorithmEntry("cosyne-all", _cosyne("cosyne-all", False),
                   "CoSyNE permuting every evaluated weight"),
    AlgorithmEntry("esp", lambda hp: ESP(**_pick(hp, n="esp_n", trials="esp_trials",
                                                 adapt_size="esp_adapt_size")),
                   "ESP with burst mutation and network-size adaptation", evolves="neurons"),
    AlgorithmEntry("hesp", lambda hp: HESP(**_pick(hp, n="esp_n", trials="esp_trials",
                                                   level2_size="level2_size")),
                   "H-ESP: ESP plus a level of whole networks (Gomez & Schmidhuber 2005)",
                   evolves="neurons"),
    AlgorithmEntry("cmaes", lambda hp: CMAES(**_pick(hp, sigma0="cmaes_sigma0")),
                   "CMA-ES through pycma (Igel 2003's baseline)"),
    _evotorch("snes", "snes"),
    _evotorch("pgpe", "pgpe"),
    _evotorch("evotorch-cosyne", "cosyne"),
)}


def algorithm_entry(name: str) -> AlgorithmEntry:
    """The entry of ``name``; an unknown name is a ``ValueError`` listing the valid ones."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(ALGORITHMS)}") from None


def make_algorithm(name: str, hyper: Hyper | None = None) -> Algorithm | Driver:
    """The algorithm ``name`` with the hyper-parameters found in ``hyper`` (see the docstring)."""
    return algorithm_entry(name).make(hyper or {})


def check_methods(methods: Sequence[str]) -> None:
    """Validate a config's method list up front: ``ValueError`` (one line, the valid names) for
    an empty list or an unknown name; the entry's own error (``EvoTorchMissing``, an
    ``ImportError``) for a method whose optional package is not installed."""
    if not methods:
        raise ValueError(f"unknown method '(none)'; valid: {', '.join(ALGORITHMS)}")
    entries = [algorithm_entry(m) for m in methods]
    for e in entries:
        if e.requires is not None:
            e.requires(e.name)
