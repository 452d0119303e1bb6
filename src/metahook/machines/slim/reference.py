"""The SLIM net, slow pure-Python reference.

A separate, straightforward implementation of the dynamics in the package docstring, written for
clarity: the net is a dict of outgoing connections per unit (zero weights left out), the WTA groups
a dict of unit lists, the state a list of floats, the used connections a set of pairs. No numpy
arithmetic and no numba. ``tests/test_slim.py`` checks that it and the fast kernels of
:mod:`metahook.machines.slim.kernel` agree exactly (same float sums, in the same order) on
generated nets, patterns, images and step limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class RefRun:
    """What one reference run returns (see :class:`metahook.machines.slim.machine.Run`)."""

    halted: bool
    steps: int
    state: list[float]
    used: set[tuple[int, int]]
    considered: set[int]
    fovea: tuple[int, int]


class ReferenceSlim:
    """A SLIM net in plain Python, built from the same description as the fast path."""

    def __init__(
        self,
        W: Sequence[Sequence[float]],
        group: Sequence[int],
        inputs: Sequence[int],
        halt: int,
        theta: Sequence[float],
        clamped: Sequence[int] = (),
    ) -> None:
        self.n = len(W)
        self.inputs = [int(i) for i in inputs]
        self.clamped = [int(i) for i in clamped]
        self.halt = int(halt)
        self.theta = [float(t) for t in theta]
        self.group_of = {i: int(g) for i, g in enumerate(group) if int(g) >= 0}
        # outgoing connections, targets in increasing order; connections into inputs are ignored
        self.out: dict[int, dict[int, float]] = {}
        for j in range(self.n):
            row = {i: float(W[j][i]) for i in range(self.n)
                   if float(W[j][i]) != 0.0 and i in self.group_of}
            if row:
                self.out[j] = row

    def run(
        self,
        image: Sequence[Sequence[float]],
        retina: tuple[int, int],
        start: tuple[int, int],
        moves: dict[int, tuple[int, int]],
        max_steps: int,
        command: Sequence[float] = (),
    ) -> RefRun:
        """Run from ``start`` over ``image`` with a ``retina = (ry, rx)`` window; ``moves`` maps
        motor units to their displacement; ``command`` gives the clamped units their values (the
        rest 0). A pattern run is a ``1 x n_in`` image and retina."""
        ry, rx = retina
        height, width = len(image), len(image[0]) if image else 0
        y, x = start
        state = [0.0] * self.n
        for unit, value in zip(self.clamped, command, strict=False):
            state[unit] = float(value)

        def look() -> None:
            for k, unit in enumerate(self.inputs):
                row, col = divmod(k, rx)
                state[unit] = float(image[y + row][x + col])

        look()
        used: set[tuple[int, int]] = set()
        considered: set[int] = set()
        halted = False
        steps = 0
        while steps < max_steps:
            active = [j for j in range(self.n) if state[j] != 0.0]
            considered.update(active)
            net: dict[int, float] = {}
            for j in active:  # increasing j: the same summation order as the kernel
                for i, w in self.out.get(j, {}).items():
                    used.add((j, i))
                    net[i] = net.get(i, 0.0) + state[j] * w
            winners: dict[int, int] = {}
            for i in sorted(net):
                if net[i] > self.theta[i]:
                    g = self.group_of[i]
                    if g not in winners or net[i] > net[winners[g]]:
                        winners[g] = i  # ties keep the lower index, seen first
            for i in self.group_of:
                state[i] = 0.0
            dy = dx = 0
            for i in winners.values():
                state[i] = 1.0
                my, mx = moves.get(i, (0, 0))
                dy, dx = dy + my, dx + mx
            y = min(max(y + dy, 0), height - ry)
            x = min(max(x + dx, 0), width - rx)
            look()
            steps += 1
            if state[self.halt] != 0.0:
                halted = True
                break
        return RefRun(halted, steps, state, used, considered, (y, x))

    def run_pattern(self, pattern: Sequence[float], max_steps: int,
                    command: Sequence[float] = ()) -> RefRun:
        """Run with ``pattern`` clamped on the inputs."""
        return self.run([list(pattern)], (1, max(len(pattern), 1)), (0, 0), {}, max_steps,
                        command)
