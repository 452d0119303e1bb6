"""ESP (Enforced SubPopulations) and H-ESP (Hierarchical ESP).

ESP: Gomez & Miikkulainen (1997, 1999), Gomez's PhD thesis (2003). H-ESP: Gomez & Schmidhuber,
*Co-evolving recurrent neurons learn deep memory POMDPs*, GECCO 2005.

**ESP** evolves neurons, not networks. There is one subpopulation of n neurons per hidden unit;
a neuron's chromosome is its input, recurrent and output weights. One generation:

1. *trials*: networks are formed by drawing one neuron from each subpopulation; every neuron
   takes part in ``trials`` networks (a fresh random pairing per round) and its fitness is the
   average fitness of the networks it was part of;
2. *recombination*: in each subpopulation, each neuron of the top quarter is crossed (one-point
   crossover) with a higher-ranking one (the best with the second); the offspring, mutated with
   Cauchy noise, replace the bottom half;
3. *burst mutation*: when the best network has not improved for ``stagnation`` generations, each
   subpopulation is refilled with Cauchy perturbations of the best network's neuron;
4. *network-size adaptation*: after two bursts in a row without improvement, each neuron of the
   best network is lesioned in turn (each lesioned network is one evaluation); the subpopulations
   of neurons whose removal does not lower the fitness are dropped, and if none is dropped a new
   subpopulation of random neurons is added.

**H-ESP** adds a second level: a population of whole networks (level 2) beside ESP's neuron
subpopulations (level 1). Each generation the best level-1 network enters level 2 if it beats
level 2's worst; level 2 recombines its top quarter by exchanging whole neurons, mutates the
offspring and keeps the best. When level 1 stagnates, instead of a burst around one network its
subpopulations are refilled from the neurons of the level-2 networks (perturbed by Cauchy noise),
so good neurons found in different networks meet again.

Glossary: h hidden neurons (= subpopulations), n neurons per subpopulation, trials participations
per neuron per generation, α Cauchy scale, level 1 / level 2 neuron and network populations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from metahook.evolution.base import DataclassState, Population, cauchy_mutate, rank
from metahook.evolution.network import NetSpec


def _resize_chromosomes(pop: np.ndarray, spec: NetSpec, remove: int | None,
                        rng: np.random.Generator, scale: float) -> np.ndarray:
    """Drop (``remove``) or add a recurrent weight in every neuron chromosome of ``pop``."""
    if not spec.recurrent:
        return pop
    ni = spec.n_inputs
    if remove is not None:
        return np.delete(pop, ni + remove, axis=-1)
    extra = rng.uniform(-scale, scale, size=(*pop.shape[:-1], 1))
    return np.concatenate([pop[..., : ni + spec.h], extra, pop[..., ni + spec.h:]], axis=-1)


@dataclass
class ESPState:
    spec: NetSpec
    pops: np.ndarray  # (h, n, L): subpopulation i, neuron j, chromosome
    fit_sum: np.ndarray  # (h, n)
    fit_count: np.ndarray  # (h, n)
    picks: np.ndarray  # (h, k): neuron of subpopulation i in network r of the last ask
    best: np.ndarray  # best network so far (flat genome)
    best_fitness: float = -np.inf
    since_improved: int = 0
    bursts_without_gain: int = 0
    phase: str = "trials"  # or "lesion"
    generation: int = 0
    level2: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # H-ESP networks
    level2_fitness: np.ndarray = field(default_factory=lambda: np.zeros(0))
    level2_kids: int = 0  # rows of the last ask that were level-2 offspring
    level2_last: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # those offspring


@dataclass(frozen=True)
class ESP(DataclassState):
    """ESP as an ask/tell algorithm (see the module docstring); its state is :class:`ESPState`,
    checkpointed field by field (H-ESP's level 2 included)."""

    state_type: ClassVar[type] = ESPState

    n: int = 40  # neurons per subpopulation
    trials: int = 10  # networks each neuron takes part in per generation
    mutation_prob: float = 0.4  # per weight of an offspring
    alpha: float = 0.3  # Cauchy scale of mutation and burst mutation
    init_scale: float = 1.0
    stagnation: int = 20  # generations without improvement before a burst
    adapt_size: bool = True
    max_h: int = 10
    name: str = "esp"

    def init(self, spec: NetSpec, rng: np.random.Generator) -> ESPState:
        if spec.h < 1:
            raise ValueError("ESP needs at least one hidden neuron")
        pops = rng.uniform(-self.init_scale, self.init_scale,
                           size=(spec.h, self.n, spec.neuron_length))
        return ESPState(spec, pops, np.zeros((spec.h, self.n)), np.zeros((spec.h, self.n)),
                        np.zeros((spec.h, 0), dtype=np.int64), np.zeros(spec.n_weights))

    # ------------------------------------------------------------------ ask
    def _trial_networks(self, st: ESPState, rng: np.random.Generator) -> np.ndarray:
        h, n, L = st.pops.shape
        k = n * self.trials
        picks = np.empty((h, k), dtype=np.int64)
        for t in range(self.trials):
            for i in range(h):
                picks[i, t * n:(t + 1) * n] = rng.permutation(n)
        st.picks = picks
        nets = np.empty((k, h * L))
        for i in range(h):
            nets[:, i * L:(i + 1) * L] = st.pops[i, picks[i]]
        return nets

    def _lesioned(self, st: ESPState) -> np.ndarray:
        spec = st.spec
        L = spec.neuron_length
        nets = np.empty((spec.h, (spec.h - 1) * (L - int(spec.recurrent))))
        W = st.best.reshape(spec.h, L)
        for j in range(spec.h):
            rest = np.delete(W, j, axis=0)
            if spec.recurrent:
                rest = np.delete(rest, spec.n_inputs + j, axis=1)
            nets[j] = rest.ravel()
        return nets

    def ask(self, state: ESPState, rng: np.random.Generator) -> Population:
        if state.phase == "lesion":
            return Population(state.spec.with_h(state.spec.h - 1), self._lesioned(state))
        return Population(state.spec, self._trial_networks(state, rng))

    # ------------------------------------------------------------------ tell
    def _recombine(self, st: ESPState, rng: np.random.Generator) -> None:
        h, n, L = st.pops.shape
        fit = st.fit_sum / np.maximum(st.fit_count, 1)
        q = max(2, n // 4)
        for i in range(h):
            order = rank(fit[i], rng)
            pop = st.pops[i, order]
            kids = []
            for a in range(q):
                b = int(rng.integers(0, a)) if a > 0 else 1
                cut = int(rng.integers(1, L)) if L > 1 else 0
                kids.append(np.concatenate([pop[a, :cut], pop[b, cut:]]))
                kids.append(np.concatenate([pop[b, :cut], pop[a, cut:]]))
            kid_arr = np.array(kids[: n - n // 2])
            cauchy_mutate(kid_arr, self.mutation_prob, self.alpha, rng)
            pop[n - kid_arr.shape[0]:] = kid_arr
            st.pops[i] = pop

    def _burst(self, st: ESPState, rng: np.random.Generator) -> None:
        h, n, L = st.pops.shape
        W = st.best.reshape(h, L)
        for i in range(h):
            st.pops[i] = W[i] + self.alpha * rng.standard_cauchy((n, L))
            st.pops[i, 0] = W[i]

    def _on_stagnation(self, st: ESPState, rng: np.random.Generator) -> None:
        """Burst mutation, or network-size adaptation after two fruitless bursts."""
        st.since_improved = 0
        if self.adapt_size and st.bursts_without_gain >= 2 and st.spec.h > 1:
            st.bursts_without_gain = 0
            st.phase = "lesion"
            return
        if self.adapt_size and st.bursts_without_gain >= 2 and st.spec.h == 1:
            st.bursts_without_gain = 0
            self._add_neuron(st, rng)
        st.bursts_without_gain += 1
        self._burst(st, rng)

    def _add_neuron(self, st: ESPState, rng: np.random.Generator) -> None:
        if st.spec.h >= self.max_h:
            return
        spec = st.spec
        pops = _resize_chromosomes(st.pops, spec, None, rng, self.init_scale)
        new_spec = spec.with_h(spec.h + 1)
        fresh = rng.uniform(-self.init_scale, self.init_scale,
                            size=(1, self.n, new_spec.neuron_length))
        st.pops = np.concatenate([pops, fresh], axis=0)
        W = _resize_chromosomes(st.best.reshape(spec.h, -1), spec, None, rng, 0.0)
        st.best = np.concatenate([W, fresh[0, :1]], axis=0).ravel()
        st.spec = new_spec
        st.fit_sum = np.zeros((new_spec.h, self.n))
        st.fit_count = np.zeros((new_spec.h, self.n))

    def _tell_lesion(self, st: ESPState, fitness: np.ndarray, rng: np.random.Generator) -> None:
        spec = st.spec
        keep = [j for j in range(spec.h) if fitness[j] < st.best_fitness]
        st.phase = "trials"
        if len(keep) == spec.h:  # every neuron matters: grow
            self._add_neuron(st, rng)
        else:
            if not keep:  # never remove them all: keep the one whose loss hurt most
                keep = [int(np.argmin(fitness))]
            W = st.best.reshape(spec.h, spec.neuron_length)
            pops = st.pops
            for j in sorted(set(range(spec.h)) - set(keep), reverse=True):
                cur = st.spec
                pops = _resize_chromosomes(np.delete(pops, j, axis=0), cur, j, rng, 0.0)
                W = _resize_chromosomes(np.delete(W, j, axis=0), cur, j, rng, 0.0)
                st.spec = cur.with_h(cur.h - 1)
            st.pops = pops
            st.best = W.ravel()
            st.fit_sum = np.zeros((st.spec.h, self.n))
            st.fit_count = np.zeros((st.spec.h, self.n))
        self._burst(st, rng)

    def _tell_trials(self, st: ESPState, fitness: np.ndarray, rng: np.random.Generator) -> bool:
        """Credit neurons, recombine; return True if the best network improved."""
        h = st.spec.h
        st.fit_sum[:] = 0.0
        st.fit_count[:] = 0.0
        for i in range(h):
            np.add.at(st.fit_sum[i], st.picks[i], fitness)
            np.add.at(st.fit_count[i], st.picks[i], 1.0)
        r = int(np.argmax(fitness))
        improved = bool(fitness[r] > st.best_fitness)
        if improved:
            L = st.spec.neuron_length
            st.best = np.concatenate([st.pops[i, st.picks[i, r]] for i in range(h)])
            assert st.best.shape[0] == h * L
            st.best_fitness = float(fitness[r])
        self._recombine(st, rng)
        st.generation += 1
        return improved

    def tell(self, state: ESPState, fitness: np.ndarray, rng: np.random.Generator) -> None:
        fitness = np.asarray(fitness, dtype=float)
        if state.phase == "lesion":
            self._tell_lesion(state, fitness, rng)
            return
        if self._tell_trials(state, fitness, rng):
            state.since_improved = 0
            state.bursts_without_gain = 0
        else:
            state.since_improved += 1
            if state.since_improved >= self.stagnation:
                self._on_stagnation(state, rng)


@dataclass(frozen=True)
class HESP(ESP):
    """H-ESP: ESP (level 1) plus a population of whole networks (level 2); see the module docs."""

    level2_size: int = 20
    level2_offspring: int = 10  # evaluated each generation beside level 1's networks
    adapt_size: bool = False  # level 2 holds networks of one shape
    name: str = "hesp"

    def init(self, spec: NetSpec, rng: np.random.Generator) -> ESPState:
        st = super().init(spec, rng)
        st.level2 = np.zeros((0, spec.n_weights))
        st.level2_fitness = np.zeros(0)
        return st

    def _level2_kids(self, st: ESPState, rng: np.random.Generator) -> np.ndarray:
        m = st.level2.shape[0]
        if m < 2:
            return np.zeros((0, st.spec.n_weights))
        h, L = st.spec.h, st.spec.neuron_length
        q = max(2, m // 4)
        kids = np.empty((self.level2_offspring, h * L))
        for k in range(self.level2_offspring):
            a, b = rng.choice(q, size=2, replace=False)
            take = rng.random(h) < 0.5  # neuron-wise uniform crossover
            A = st.level2[a].reshape(h, L)
            B = st.level2[b].reshape(h, L)
            kids[k] = np.where(take[:, None], A, B).ravel()
        cauchy_mutate(kids, self.mutation_prob / L, self.alpha, rng)
        return kids

    def ask(self, state: ESPState, rng: np.random.Generator) -> Population:
        spec, nets = super().ask(state, rng)
        kids = self._level2_kids(state, rng)
        state.level2_kids = kids.shape[0]
        state.level2_last = kids
        return Population(spec, np.concatenate([nets, kids], axis=0))

    def _insert(self, st: ESPState, nets: np.ndarray, fit: np.ndarray) -> None:
        allnets = np.concatenate([st.level2, nets], axis=0)
        allfit = np.concatenate([st.level2_fitness, fit])
        order = np.argsort(-allfit, kind="stable")[: self.level2_size]
        st.level2 = allnets[order]
        st.level2_fitness = allfit[order]

    def _burst(self, st: ESPState, rng: np.random.Generator) -> None:
        m = st.level2.shape[0]
        if m == 0:
            super()._burst(st, rng)
            return
        h, n, L = st.pops.shape
        nets = st.level2.reshape(m, h, L)
        for i in range(h):
            src = nets[np.arange(n) % m, i]
            st.pops[i] = src + self.alpha * rng.standard_cauchy((n, L))
            st.pops[i, :m] = nets[:, i][: min(m, n)]

    def tell(self, state: ESPState, fitness: np.ndarray, rng: np.random.Generator) -> None:
        fitness = np.asarray(fitness, dtype=float)
        k2 = state.level2_kids
        f1, f2 = (fitness[:-k2], fitness[-k2:]) if k2 else (fitness, fitness[:0])
        kids = state.level2_last
        r = int(np.argmax(f1))
        L = state.spec.neuron_length
        best_l1 = np.concatenate([state.pops[i, state.picks[i, r]]
                                  for i in range(state.spec.h)])[None, :]
        assert best_l1.shape[1] == state.spec.h * L
        self._insert(state, np.concatenate([best_l1, kids], axis=0),
                     np.concatenate([[f1[r]], f2]))
        prev = state.best_fitness
        super().tell(state, f1, rng)
        if f2.size and f2.max() > max(prev, state.best_fitness):
            state.best = kids[int(np.argmax(f2))].copy()
            state.best_fitness = float(f2.max())
            state.since_improved = 0
