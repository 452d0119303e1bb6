"""CoSyNE: Cooperative Synapse NeuroEvolution.

Gomez, Schmidhuber & Miikkulainen, *Accelerated Neural Evolution through Cooperatively
Coevolved Synapses*, JMLR 9:937–965, 2008 (first at ECML 2006).

The population is an m × n matrix P: n subpopulations P_1 .. P_n, one per synaptic weight of the
network, each of m weights; row j of P is network j. One generation:

1. evaluate every network x_j = (x_1j, .., x_nj); each weight x_ij gets the fitness of its network;
2. recombine the top quarter of the networks (multi-point crossover, one point per neuron, and
   Cauchy mutation) into l offspring;
3. in each subpopulation sort by fitness and put the l offspring in place of the l weakest;
4. permute: in each subpopulation mark each evaluated weight x_ij (the m − l survivors; the
   offspring have no fitness yet) with probability
   ``p(x_ij) = 1 − ((f(x_ij) − f_min) / (f_max − f_min))^(1/n)``, f_min and f_max the lowest and
   highest fitness among those evaluated weights, and shuffle the marked weights among
   themselves, so that weights from poor networks try new partners while good networks tend to
   stay together (a network stays intact with probability equal to its normalised fitness; the
   best one is never broken up).

Under the fitness-proportional marking most survivors come through a generation intact. The
pole tasks are deterministic, so an intact network's fitness is already known: it is not
simulated again (``skip_intact``), except the best network, which is evaluated with the new
ones so that the generation's best network is the one the task tests, as when every row is
evaluated. Only networks simulated count as evaluations. ``permute_prob=False`` (``cosyne-all``)
permutes every evaluated weight and evaluates every row each generation.

Glossary: m population size (networks), n number of weights (subpopulations), l offspring per
generation, P_i subpopulation i, x_ij weight i of network j, f its fitness, α Cauchy scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from metahook.evolution.base import DataclassState, Population, cauchy_mutate, rank
from metahook.evolution.network import NetSpec


@dataclass
class CoSyNEState:
    spec: NetSpec
    P: np.ndarray  # (m, n): row j is network j, column i is subpopulation i
    generation: int = 0
    fitness: np.ndarray | None = None  # (m,) known fitness of each row (None: none known)
    fresh: np.ndarray | None = None  # (m,) bool: rows the next ask hands out (None: every row)


@dataclass(frozen=True)
class CoSyNE(DataclassState):
    """CoSyNE as an ask/tell algorithm (see the module docstring); its state is
    :class:`CoSyNEState`, checkpointed field by field."""

    state_type: ClassVar[type] = CoSyNEState

    m: int = 20  # networks per generation (the subpopulation size)
    parents_frac: float = 0.25  # the top quarter recombines
    n_offspring: int = 0  # l; 0 means m/4
    mutation_prob: float = 0.3  # per weight of an offspring
    alpha: float = 0.3  # Cauchy scale of the mutation
    init_scale: float = 1.0  # initial weights uniform in ±init_scale
    permute_prob: bool = True  # fitness-proportional marking; False permutes all survivors
    skip_intact: bool = True  # marking only: do not re-simulate intact networks but the best
    name: str = "cosyne"

    def __post_init__(self) -> None:
        if self.m < 4:
            raise ValueError("CoSyNE needs m >= 4")
        if not 0.0 < self.parents_frac <= 1.0:
            raise ValueError("parents_frac must be in (0, 1]")

    @property
    def l(self) -> int:  # noqa: E743  (the paper's symbol)
        return self.n_offspring or max(2, self.m // 4)

    def init(self, spec: NetSpec, rng: np.random.Generator) -> CoSyNEState:
        P = rng.uniform(-self.init_scale, self.init_scale, size=(self.m, spec.n_weights))
        return CoSyNEState(spec, P)

    def ask(self, state: CoSyNEState, rng: np.random.Generator) -> Population:
        """The networks to evaluate: every row, or (``skip_intact``) the rows whose fitness is
        not known plus the best one."""
        if state.fresh is None:
            return Population(state.spec, state.P.copy())
        return Population(state.spec, state.P[state.fresh].copy())

    def _crossover(self, a: np.ndarray, b: np.ndarray, spec: NetSpec,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Multi-point crossover: one random cut inside each neuron's segment."""
        n = a.shape[0]
        seg = spec.neuron_length if spec.h > 0 else n
        c1, c2 = a.copy(), b.copy()
        for start in range(0, n, seg):
            end = min(start + seg, n)
            cut = rng.integers(start, end + 1)
            c1[cut:end], c2[cut:end] = b[cut:end], a[cut:end]
        return c1, c2

    def tell(self, state: CoSyNEState, fitness: np.ndarray, rng: np.random.Generator) -> None:
        """One generation from the fitness of the networks the last ask handed out."""
        P, spec = state.P, state.spec
        m, n = P.shape
        if state.fresh is None:
            fit_all = np.asarray(fitness, dtype=float)
        else:
            assert state.fitness is not None
            fit_all = state.fitness.copy()
            fit_all[state.fresh] = fitness
        order = rank(fit_all, rng)
        P[:] = P[order]
        f = fit_all[order]
        n_par = max(2, round(self.parents_frac * m))
        l = min(self.l, m - 1)
        kids = np.empty((l, n))
        for k in range(0, l, 2):
            i, j = rng.choice(n_par, size=2, replace=False)
            c1, c2 = self._crossover(P[i], P[j], spec, rng)
            kids[k] = c1
            if k + 1 < l:
                kids[k + 1] = c2
        cauchy_mutate(kids, self.mutation_prob, self.alpha, rng)
        survivors = m - l
        before = P[:survivors].copy()
        # permutation of the evaluated survivors, column by column
        prob = self.marking_probability(f[:survivors], n)
        for i in range(n):
            marked = np.flatnonzero(rng.random(survivors) < prob)
            if marked.size > 1:
                P[marked, i] = P[rng.permutation(marked), i]
        P[survivors:] = kids
        if self.permute_prob and self.skip_intact:
            intact = np.zeros(m, dtype=bool)
            intact[:survivors] = np.all(P[:survivors] == before, axis=1)
            intact[0] = False  # the best survivor (never broken up) is evaluated again
            state.fitness = np.where(intact, f, 0.0)
            state.fresh = ~intact
        state.generation += 1

    def marking_probability(self, f: np.ndarray, n: int) -> np.ndarray:
        """Probability that each survivor's weights are marked for permutation: the paper's
        ``1 − q^(1/n)``, q its fitness normalised over the survivors (1 for every survivor under
        ``permute_prob=False``, or when all survivors have the same fitness)."""
        fmin, fmax = float(f.min()), float(f.max())
        if not self.permute_prob or fmax <= fmin:
            return np.ones(f.size)
        q = (f - fmin) / (fmax - fmin)
        return 1.0 - q ** (1.0 / n)
