"""EvoTorch's SNES, PGPE and CoSyNE as optional extra pole baselines, never hand-written.

EvoTorch (Toklu et al., *EvoTorch: Scalable Evolutionary Computation in Python*, 2023;
https://evotorch.ai) implements

- **SNES**, separable natural evolution strategies (Schaul, Glasmachers & Schmidhuber, GECCO 2011),
- **PGPE**, policy gradients with parameter-based exploration (Sehnke et al., Neural Networks 23,
  2010), here with EvoTorch's default ClipUp optimizer and centered ranking, symmetric sampling,
- **CoSyNE** (Gomez, Schmidhuber & Miikkulainen, JMLR 2008), EvoTorch's own version: tournament
  selection, one-point crossover, Gaussian mutation, elitism, and the permutation of each weight's
  subpopulation (``permute_all``).

The searchers run their own loop (``searcher.step()``), so they are wrapped as a
:class:`~metahook.evolution.base.Driver`, not as ask/tell: an EvoTorch ``Problem`` whose
``_evaluate_batch`` hands the batch's weights to our numba fitness through the run's
:class:`~metahook.evolution.budget.EvaluationBudget` (the same counting, cap, "solved" rule and
generalization test as every other method), and the loop stops as soon as the budget is done.
Every network EvoTorch asks to evaluate is one evaluation, including the elite that its CoSyNE
re-evaluates each generation (our ``cosyne-all`` simulates every row too; our ``cosyne`` does not
simulate again a network that came through a generation intact, except the best one).

Randomness: the Problem gets its own ``torch.Generator`` seeded from the run's
``numpy.random.Generator`` (EvoTorch draws all its samples from it), and the starting point is drawn
from the run's generator, so a run is deterministic under its seed. EvoTorch is imported lazily:
metahook works without it, and asking for one of these methods without it raises
:class:`EvoTorchMissing` (an ``ImportError``) with one line saying how to install it.

Glossary: σ0 initial standard deviation of the search distribution (SNES, PGPE), λ population size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from metahook.evolution.budget import EvaluationBudget
from metahook.evolution.network import NetSpec

EVOTORCH_VERSION = "0.6.1"
INSTALL_HINT = f"pip install 'metahook[evotorch]' (or pip install evotorch=={EVOTORCH_VERSION})"


Kind = Literal["snes", "pgpe", "cosyne"]


class EvoTorchMissing(ImportError):
    """An EvoTorch method was asked for but the optional ``evotorch`` package is not installed."""


def require_evotorch(method: str = "this method") -> Any:
    """Import and return the ``evotorch`` module, or raise :class:`EvoTorchMissing`."""
    try:
        import evotorch
    except ImportError:
        raise EvoTorchMissing(f"method {method!r} needs the optional package evotorch, which is "
                              f"not installed; install it with: {INSTALL_HINT}") from None
    logging.getLogger("evotorch").setLevel(logging.WARNING)  # no INFO line per Problem
    return evotorch


class _BudgetDone(Exception):
    """Raised inside an EvoTorch evaluation once the budget is done, to leave ``step()``."""


def _problem(spec: NetSpec, budget: EvaluationBudget, init_scale: float, seed: int) -> Any:
    require_evotorch()
    import torch
    from evotorch import Problem

    class BudgetProblem(Problem):  # EvoTorch's Problem over our budget (and our Problem)
        def _evaluate_batch(self, batch: Any) -> None:
            genomes = batch.values.detach().cpu().numpy()
            res = budget.evaluate(spec, genomes)
            if budget.done:
                raise _BudgetDone
            batch.set_evals(torch.as_tensor(res.fitness, dtype=torch.float64))

    return BudgetProblem("max", solution_length=spec.n_weights,
                         initial_bounds=(-init_scale, init_scale), dtype=torch.float64,
                         eval_dtype=torch.float64, device="cpu", seed=seed)


@dataclass(frozen=True)
class EvoTorchES:
    """One of EvoTorch's searchers (``kind``) driven over an evaluation budget.

    SNES and PGPE start from a centre drawn uniformly in ±0.1·σ0 (as our CMA-ES wrapper) with
    standard deviation σ0; EvoTorch's CoSyNE starts from ``popsize`` networks uniform in
    ±``init_scale`` (as our CoSyNE). Hyperparameters not named here are EvoTorch's defaults.
    """

    kind: Kind
    sigma0: float = 1.0  # SNES / PGPE initial standard deviation
    popsize: int = 0  # 0: SNES's default 4 + ⌊3 ln n⌋; PGPE 20; CoSyNE 20
    pgpe_center_lr: float = 0.3  # PGPE centre learning rate (ClipUp's max speed is twice it)
    pgpe_stdev_lr: float = 0.1  # PGPE standard-deviation learning rate
    cosyne_tournament: int = 4  # EvoTorch CoSyNE tournament size
    cosyne_mutation_stdev: float = 0.3  # EvoTorch CoSyNE Gaussian mutation scale
    cosyne_mutation_prob: float = 0.3  # EvoTorch CoSyNE per-weight mutation probability
    cosyne_permute_all: bool = True  # permute every weight (EvoTorch's default: False)
    init_scale: float = 1.0  # EvoTorch CoSyNE initial weights uniform in ±init_scale
    name: str = ""  # "": the kind

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.kind)

    def searcher(self, problem: Any, center: np.ndarray) -> Any:
        """The EvoTorch search algorithm of this kind on ``problem``."""
        from evotorch.algorithms import PGPE, SNES, Cosyne

        if self.kind == "snes":
            return SNES(problem, stdev_init=self.sigma0, center_init=center,
                        popsize=self.popsize or None)
        if self.kind == "pgpe":
            return PGPE(problem, popsize=self.popsize or 20, stdev_init=self.sigma0,
                        center_init=center, center_learning_rate=self.pgpe_center_lr,
                        stdev_learning_rate=self.pgpe_stdev_lr)
        return Cosyne(problem, popsize=self.popsize or 20,
                      tournament_size=self.cosyne_tournament,
                      mutation_stdev=self.cosyne_mutation_stdev,
                      mutation_probability=self.cosyne_mutation_prob,
                      permute_all=self.cosyne_permute_all, num_elites=1)

    def drive(self, budget: EvaluationBudget, spec: NetSpec, rng: np.random.Generator) -> None:
        """Step the searcher until a network solves the problem or the budget is spent."""
        require_evotorch(self.name)
        seed = int(rng.integers(2**62))
        center = rng.uniform(-self.sigma0, self.sigma0, spec.n_weights) * 0.1
        searcher = self.searcher(_problem(spec, budget, self.init_scale, seed), center)
        try:
            while not budget.done:
                searcher.step()
        except _BudgetDone:
            pass
