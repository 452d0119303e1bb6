"""The ask/tell interface shared by ESP, H-ESP, CoSyNE and the CMA-ES baseline.

Every algorithm is an object with three methods over an explicit state (evosax's manner)::

    state = algo.init(spec, rng)                 # spec: the network shape to start from
    spec, genomes = algo.ask(state, rng)         # a Population: networks, one flat genome per row
    algo.tell(state, fitness, rng)               # a fitness per row of that ask (higher: better)

and two more that make the state a checkpoint (JSON plus ``.npz``, never pickle)::

    data = algo.state_dict(state)                # nested dicts, lists, numbers, numpy arrays
    state = algo.load_state_dict(data)           # the same state: the next ask is identical

``ask`` may return a different network shape from one call to the next (ESP adapts the number of
hidden neurons). Randomness comes only from the ``numpy.random.Generator`` passed in.
:class:`~metahook.evolution.run.Evolution` runs an algorithm on a
:class:`~metahook.evolution.problem.Problem`; algorithms that run their own loop (the EvoTorch
baselines, :class:`Driver`) evaluate through the same
:class:`~metahook.evolution.budget.EvaluationBudget` instead. The algorithms are looked up by
name in :data:`metahook.evolution.registry.ALGORITHMS`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import numpy as np

from metahook.evolution.network import NetSpec

if TYPE_CHECKING:
    from metahook.evolution.budget import EvaluationBudget


class Population(NamedTuple):
    """What ``ask`` returns: the networks' shape and their genomes, ``(k, spec.n_weights)``."""

    spec: NetSpec
    genomes: np.ndarray


class Algorithm(Protocol):
    """An ask/tell algorithm over an explicit state (see the module docstring)."""

    @property
    def name(self) -> str: ...

    def init(self, spec: NetSpec, rng: np.random.Generator) -> Any: ...

    def ask(self, state: Any, rng: np.random.Generator) -> Population: ...

    def tell(self, state: Any, fitness: np.ndarray, rng: np.random.Generator) -> None: ...

    def state_dict(self, state: Any) -> dict[str, Any]: ...

    def load_state_dict(self, data: dict[str, Any]) -> Any: ...


@runtime_checkable
class Driver(Protocol):
    """An algorithm that runs its own loop (EvoTorch's searchers) over an evaluation budget.

    Its state lives inside the foreign library's objects, so a driven run is not checkpointed
    mid-way: :class:`~metahook.evolution.run.Evolution` runs it to the end in one step.
    """

    @property
    def name(self) -> str: ...

    def drive(self, budget: EvaluationBudget, spec: NetSpec,
              rng: np.random.Generator) -> None: ...


def state_dict(state: Any) -> dict[str, Any]:
    """An algorithm state (a dataclass of arrays and numbers) as a plain nested dict (a copy).

    The result is what the harness's checkpoints store (JSON plus ``.npz``).
    """
    return dataclasses.asdict(state)


def load_state_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a state of dataclass type ``cls`` from :func:`state_dict` output (arrays copied)."""
    kwargs = dict(data)
    kwargs["spec"] = NetSpec(**kwargs["spec"])
    for f in dataclasses.fields(cls):
        v = kwargs.get(f.name)
        if isinstance(v, (list, np.ndarray)):
            kwargs[f.name] = np.array(v)
    return cls(**kwargs)


class DataclassState:
    """``state_dict`` / ``load_state_dict`` for an algorithm whose state is a dataclass of arrays
    and numbers (CoSyNE, ESP, H-ESP): the dataclass's fields are the checkpoint."""

    state_type: ClassVar[type]

    def state_dict(self, state: Any) -> dict[str, Any]:
        return state_dict(state)

    def load_state_dict(self, data: dict[str, Any]) -> Any:
        return load_state_dict(self.state_type, data)


def cauchy_mutate(genomes: np.ndarray, prob: float, alpha: float,
                  rng: np.random.Generator) -> None:
    """Add Cauchy noise (scale ``alpha``) to each weight of ``genomes`` with prob. ``prob``."""
    mask = rng.random(genomes.shape) < prob
    genomes[mask] += alpha * rng.standard_cauchy(int(mask.sum()))


def rank(fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices from best to worst; ties broken at random."""
    return np.lexsort((rng.random(size=(len(fitness),)), -np.asarray(fitness, dtype=float)))
