"""CMA-ES baseline through the ``cma`` package (Hansen's pycma), never hand-written.

Igel (2003), *Neuroevolution for reinforcement learning using evolution strategies* (CEC 2003),
evolved the weights of fixed networks on the pole tasks with CMA-ES; Gomez et al. (2008) quote
his figures. This wrapper puts pycma's ``CMAEvolutionStrategy`` behind the same ask/tell interface
as ESP and CoSyNE: it maximises fitness (pycma minimises ``−fitness``), draws its samples from the
run's ``numpy.random.Generator`` (pycma's ``randn`` option; its global seeding is switched off),
bounds every coordinate's standard deviation below by ``min_std_frac · σ0`` (Igel bounded the step
size below), and restarts with the same settings when pycma's own termination criteria fire.

Glossary: σ0 initial step size, λ population size (pycma's default 4 + ⌊3 ln n⌋).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cma
import numpy as np

from metahook.evolution.network import NetSpec


@dataclass
class CMAState:
    spec: NetSpec
    es: Any  # cma.CMAEvolutionStrategy (its state lives in pycma's object)
    asked: Any = None
    restarts: int = 0


@dataclass(frozen=True)
class CMAES:
    """CMA-ES (pycma) as an ask/tell algorithm (see the module docstring)."""

    sigma0: float = 1.0
    popsize: int = 0  # 0: pycma's default
    min_std_frac: float = 0.5
    name: str = "cmaes"

    def _new(self, spec: NetSpec, rng: np.random.Generator) -> Any:
        def randn(*shape: int) -> np.ndarray:
            return rng.standard_normal(shape)

        opts: dict[str, Any] = {"seed": np.nan, "randn": randn, "verbose": -9,
                                "verb_log": 0, "verb_disp": 0,
                                "minstd": self.min_std_frac * self.sigma0, "tolflatfitness": 20}
        if self.popsize:
            opts["popsize"] = self.popsize
        x0 = rng.uniform(-self.sigma0, self.sigma0, spec.n_weights) * 0.1
        return cma.CMAEvolutionStrategy(x0, self.sigma0, opts)

    def init(self, spec: NetSpec, rng: np.random.Generator) -> CMAState:
        return CMAState(spec, self._new(spec, rng))

    def ask(self, state: CMAState, rng: np.random.Generator) -> tuple[NetSpec, np.ndarray]:
        state.asked = state.es.ask()
        return state.spec, np.array(state.asked)

    def tell(self, state: CMAState, fitness: np.ndarray, rng: np.random.Generator) -> None:
        state.es.tell(state.asked, [-float(f) for f in fitness])
        if state.es.stop():
            state.es = self._new(state.spec, rng)
            state.restarts += 1
