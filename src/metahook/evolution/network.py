"""The recurrent networks that ESP, H-ESP and CoSyNE evolve, as flat weight vectors.

A network has ``n_in`` inputs (plus an optional constant bias input of 1), ``h`` hidden tanh
neurons and one tanh output unit. With ``recurrent`` every hidden neuron also sees the previous
activations of all hidden neurons (fully recurrent hidden layer, activations start at 0 in every
episode). With ``h = 0`` the net is a single-layer perceptron, ``y = tanh(w · u)``.

Genome layout (ESP's neuron-level genotype, laid end to end for CoSyNE and CMA-ES)::

    genome = [neuron_0 | neuron_1 | ... | neuron_{h-1}]
    neuron_j = [w_in (n_in + bias) | w_rec (h, if recurrent) | w_out (1)]

so hidden neuron j's chromosome is the contiguous slice ``j*L : (j+1)*L`` with
``L = neuron_length``. For ``h = 0`` the genome is the output unit's input weights.

One step::

    a_j(t) = tanh(Σ_i w_in[j,i] u_i(t) + Σ_k w_rec[j,k] a_k(t−1))
    y(t)   = tanh(Σ_j w_out[j] a_j(t))

Glossary: u inputs, a hidden activations, y the network output (the action in [−1, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True)
class NetSpec:
    """Shape of an evolved network (see the module docstring)."""

    n_in: int
    h: int
    recurrent: bool = True
    bias: bool = False

    @property
    def n_inputs(self) -> int:
        """Inputs including the bias unit."""
        return self.n_in + int(self.bias)

    @property
    def neuron_length(self) -> int:
        """Weights per hidden neuron (ESP's chromosome length)."""
        return self.n_inputs + (self.h if self.recurrent else 0) + 1

    @property
    def n_weights(self) -> int:
        if self.h == 0:
            return self.n_inputs
        return self.h * self.neuron_length

    def with_h(self, h: int) -> NetSpec:
        return NetSpec(self.n_in, h, self.recurrent, self.bias)


@njit(cache=True)
def net_step(genome: np.ndarray, n_in: int, h: int, recurrent: bool, bias: bool,
             u: np.ndarray, act: np.ndarray, new: np.ndarray) -> float:
    """One step of the network: reads inputs ``u`` and activations ``act``, updates ``act``.

    ``new`` is scratch of length ``max(h, 1)``. Returns the output y in [−1, 1].
    """
    ni = n_in + (1 if bias else 0)
    if h == 0:
        z = 0.0
        for i in range(n_in):
            z += genome[i] * u[i]
        if bias:
            z += genome[n_in]
        return math.tanh(z)
    L = ni + (h if recurrent else 0) + 1
    for j in range(h):
        base = j * L
        z = 0.0
        for i in range(n_in):
            z += genome[base + i] * u[i]
        if bias:
            z += genome[base + n_in]
        if recurrent:
            for k in range(h):
                z += genome[base + ni + k] * act[k]
        new[j] = math.tanh(z)
    y = 0.0
    for j in range(h):
        act[j] = new[j]
        y += genome[j * L + L - 1] * act[j]
    return math.tanh(y)


def net_step_reference(genome: np.ndarray, spec: NetSpec, u: np.ndarray,
                       act: np.ndarray) -> tuple[float, np.ndarray]:
    """Slow pure-Python version of :func:`net_step`: ``(y, new_activations)``.

    Sums in the same order as the fast path, so that the two agree to the last bit and whole
    episodes (chaotic systems) can be compared step for step.
    """
    uu = [float(v) for v in u] + ([1.0] if spec.bias else [])
    w = [float(v) for v in genome]
    if spec.h == 0:
        z = 0.0
        for i, ui in enumerate(uu):
            z += w[i] * ui
        return math.tanh(z), act
    L = spec.neuron_length
    new = []
    for j in range(spec.h):
        z = 0.0
        for i, ui in enumerate(uu):
            z += w[j * L + i] * ui
        if spec.recurrent:
            for k in range(spec.h):
                z += w[j * L + spec.n_inputs + k] * float(act[k])
        new.append(math.tanh(z))
    y = 0.0
    for j in range(spec.h):
        y += w[j * L + L - 1] * new[j]
    return math.tanh(y), np.array(new)
