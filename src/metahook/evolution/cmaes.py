"""CMA-ES baseline through the ``cma`` package (Hansen's pycma), never hand-written.

Igel (2003), *Neuroevolution for reinforcement learning using evolution strategies* (CEC 2003),
evolved the weights of fixed networks on the pole tasks with CMA-ES; Gomez et al. (2008) quote
his figures. This wrapper puts pycma's ``CMAEvolutionStrategy`` behind the same ask/tell interface
as ESP and CoSyNE: it maximises fitness (pycma minimises ``−fitness``), draws its samples from the
run's ``numpy.random.Generator`` (pycma's ``randn`` option; its global seeding is switched off),
bounds every coordinate's standard deviation below by ``min_std_frac · σ0`` (Igel bounded the step
size below), and restarts with the same settings when pycma's own termination criteria fire.

**Checkpoint without pickle.** pycma keeps its state in a Python object, which only pickle could
save. Instead the state records every call made on it: ``init``, each ``ask`` and each ``tell``,
with the state of the generator it drew from just before the call (the *seed* of the candidates
that ask sampled, and of the restart a tell may make) and, for a tell, the fitness told.
:meth:`CMAES.load_state_dict` rebuilds pycma's object by replaying those calls in order, each under
its recorded generator state: pycma's arithmetic is deterministic, so the rebuilt object is the
same to the last bit (checked against the mean recorded at save time) and the next ask gives the
identical population. The log grows by two small entries per generation.

Glossary: σ0 initial step size, λ population size (pycma's default 4 + ⌊3 ln n⌋).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import cma
import numpy as np

from metahook.evolution.base import Population
from metahook.evolution.network import NetSpec


class _Source:
    """Which generator pycma's ``randn`` draws from: the one passed to the current call."""

    rng: np.random.Generator | None = None

    def randn(self, *shape: int) -> np.ndarray:
        assert self.rng is not None
        return self.rng.standard_normal(shape)


def _generator(state: dict[str, Any]) -> np.random.Generator:
    """A fresh generator in the recorded bit-generator ``state``."""
    bits = getattr(np.random, str(state["bit_generator"]))()
    bits.state = state
    return np.random.Generator(bits)


@dataclass
class CMAState:
    spec: NetSpec
    es: Any  # cma.CMAEvolutionStrategy (its state lives in pycma's object)
    asked: Any = None
    restarts: int = 0
    # the replay log: {"op": "init" | "ask" | "tell", "rng": generator state before the call,
    # "fitness": the fitness told (tell only)}
    events: list[dict[str, Any]] = field(default_factory=list)
    source: _Source = field(default_factory=_Source)


@dataclass(frozen=True)
class CMAES:
    """CMA-ES (pycma) as an ask/tell algorithm (see the module docstring)."""

    sigma0: float = 1.0
    popsize: int = 0  # 0: pycma's default
    min_std_frac: float = 0.5
    name: str = "cmaes"

    def _new(self, spec: NetSpec, rng: np.random.Generator, source: _Source) -> Any:
        opts: dict[str, Any] = {"seed": np.nan, "randn": source.randn, "verbose": -9,
                                "verb_log": 0, "verb_disp": 0,
                                "minstd": self.min_std_frac * self.sigma0, "tolflatfitness": 20}
        if self.popsize:
            opts["popsize"] = self.popsize
        x0 = rng.uniform(-self.sigma0, self.sigma0, spec.n_weights) * 0.1
        return cma.CMAEvolutionStrategy(x0, self.sigma0, opts)

    @staticmethod
    def _event(state: CMAState, op: str, rng: np.random.Generator, **extra: Any) -> None:
        state.source.rng = rng
        state.events.append({"op": op, "rng": dict(rng.bit_generator.state), **extra})

    def init(self, spec: NetSpec, rng: np.random.Generator) -> CMAState:
        state = CMAState(spec, None)
        self._event(state, "init", rng)
        state.es = self._new(spec, rng, state.source)
        return state

    def ask(self, state: CMAState, rng: np.random.Generator) -> Population:
        self._event(state, "ask", rng)
        state.asked = state.es.ask()
        return Population(state.spec, np.array(state.asked))

    def tell(self, state: CMAState, fitness: np.ndarray, rng: np.random.Generator) -> None:
        fit = np.array(fitness, dtype=float)
        self._event(state, "tell", rng, fitness=fit)
        state.es.tell(state.asked, [-float(f) for f in fit])
        if state.es.stop():
            state.es = self._new(state.spec, rng, state.source)
            state.restarts += 1

    def _hyper(self) -> dict[str, Any]:
        return {"sigma0": self.sigma0, "popsize": self.popsize, "min_std_frac": self.min_std_frac}

    def state_dict(self, state: CMAState) -> dict[str, Any]:
        """The replay log (see the module docstring), plus pycma's mean to check the replay."""
        return {"hyper": self._hyper(), "spec": asdict(state.spec),
                "events": [{k: (v.copy() if isinstance(v, np.ndarray) else v)
                            for k, v in e.items()} for e in state.events],
                "restarts": state.restarts, "mean": np.array(state.es.mean, dtype=float)}

    def load_state_dict(self, data: dict[str, Any]) -> CMAState:
        """Rebuild pycma's object by replaying the recorded calls under their generator states."""
        if dict(data["hyper"]) != self._hyper():
            raise ValueError(f"checkpoint of CMA-ES with {dict(data['hyper'])}, "
                             f"this one has {self._hyper()}")
        events = list(data["events"])
        if not events or events[0]["op"] != "init":
            raise ValueError("CMA-ES checkpoint: the replay log does not start with init")
        state = self.init(NetSpec(**data["spec"]), _generator(events[0]["rng"]))
        for e in events[1:]:
            rng = _generator(e["rng"])
            if e["op"] == "ask":
                self.ask(state, rng)
            elif e["op"] == "tell":
                self.tell(state, np.asarray(e["fitness"], dtype=float), rng)
            else:
                raise ValueError(f"CMA-ES checkpoint: unknown call {e['op']!r} in the replay log")
        if state.restarts != int(data["restarts"]) or not np.array_equal(
                np.asarray(state.es.mean, dtype=float), np.asarray(data["mean"], dtype=float)):
            raise ValueError("CMA-ES checkpoint: replaying the recorded calls did not rebuild "
                             "the saved state (another pycma or numpy version?)")
        return state
