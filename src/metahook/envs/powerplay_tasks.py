"""Self-invented tasks for PowerPlay on the OOPS machine: input data stack -> required output.

Schmidhuber, "PowerPlay: training an increasingly general problem solver by continually searching
for the simplest still unsolvable problem", Frontiers in Psychology 4:313 (2013), Sec. 3.1: a task
is a computable question the solver can be asked; tasks are enumerated by the length of their
description, so the simplest come first. Here a task lives on one tape of the OOPS machine
(:mod:`metahook.machines.forth`):

* **description** ``(x, y)``: ``x`` the data stack ``ds`` the solver starts with (bottom first,
  possibly empty), ``y`` a non-empty required output. Values are natural numbers.
* **goal** (``goal_powerplay``, tested after every executed instruction, like the OOPS tasks):
  ``ds`` ends with ``y`` (its top ``len(y)`` cells, bottom first, equal ``y``). The cell ``ATASK``
  (which ``tsk`` pushes) holds 0 for every task, so a solver cannot tell tasks apart by their
  tape's number, only by their input.
* **compression cap**: a cell beside ``y`` may hold a time cap ``c > 0``; then the goal of the
  *last* unsolved task of a search ring also requires the ring's total time so far to be below
  ``c``. PowerPlay's compression task ("solve every task of the repertoire in fewer steps than the
  current solver") is the ring of all repertoire tasks with ``c`` = the current solver's total.
  Solver runs outside a search never set a cap.
* **description length** in bits, a prefix-free code: one bit saying "new task" (the compression
  task is the other branch), then ``x`` as Elias-gamma(len + 1) followed by gamma(v + 1) per value,
  then ``y`` as gamma(len) followed by gamma(v + 1) per value; gamma(n) = 2 floor(log2 n) + 1.
  The simplest task, ``([], [0])``, costs 4 bits.

The target and cap lie in the tape's vector area (``AVP`` ..), which no instruction writes.
Tasks whose input already ends with their output are left out (nothing to do).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from metahook.envs.oops_tasks import (
    OOPSTaskSet,
    _inputs_none,
    goal_kernel,
    init_distribution,
    register_task_set,
)
from metahook.machines.forth.layout import ACP, ADP, ATASK, AVP, MAXDP, ROW
from metahook.machines.forth.vm import R_TIME, R_UNSOLVED

PP_CAP = AVP  # ring-time cap of a compression search (0: none)
PP_LEN = AVP + 1  # len(y)
PP_Y = AVP + 2  # y[0], y[1], ... (bottom first)
MAX_OUT = 64  # longest y
MAX_IN = 64  # longest x
COMPRESSION_BITS = 1  # the compression task's description: the other branch of the first bit


@goal_kernel
def goal_powerplay(M, row, task):
    """``ds`` ends with the target y; under a cap, the ring's last task must also be on time."""
    m = M[row - PP_LEN]
    dp = M[row - ADP]
    if m <= 0 or dp < m:
        return False
    for k in range(m):
        if M[row - (ADP + dp - m + 1 + k)] != M[row - (PP_Y + k)]:
            return False
    cap = M[row - PP_CAP]
    return not (cap > 0 and M[R_UNSOLVED] == 1 and M[R_TIME] >= cap)


def gamma_bits(n: int) -> int:
    """Length of the Elias-gamma code of ``n >= 1``."""
    if n < 1:
        raise ValueError(f"gamma code needs n >= 1, got {n}")
    return 2 * (n.bit_length() - 1) + 1


@dataclass(frozen=True, order=True)
class ForthTask:
    """One task: start with ``ds = x``, reach a ``ds`` that ends with ``y``."""

    x: tuple[int, ...]
    y: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.y:
            raise ValueError("a task's output y must not be empty")
        if len(self.x) > MAX_IN or len(self.y) > MAX_OUT:
            raise ValueError(f"x has at most {MAX_IN} values and y at most {MAX_OUT}")
        if any(v < 0 for v in self.x + self.y):
            raise ValueError("task values must be natural numbers")

    @property
    def bits(self) -> int:
        """Description length (see the module docstring)."""
        return (1 + gamma_bits(len(self.x) + 1) + sum(gamma_bits(v + 1) for v in self.x)
                + gamma_bits(len(self.y)) + sum(gamma_bits(v + 1) for v in self.y))

    @property
    def trivial(self) -> bool:
        """The input already ends with the output."""
        return len(self.x) >= len(self.y) and self.x[len(self.x) - len(self.y):] == self.y

    def to_json(self) -> dict[str, list[int]]:
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_json(cls, d: dict[str, Sequence[int]]) -> ForthTask:
        return cls(tuple(int(v) for v in d["x"]), tuple(int(v) for v in d["y"]))

    def text(self) -> str:
        return f"{list(self.x)} -> ...{list(self.y)}"


def _lists(budget: int, min_len: int) -> Iterator[tuple[tuple[int, ...], int]]:
    """Every list of naturals of at least ``min_len`` values whose code (gamma(len + 1 - min_len),
    then gamma(v + 1) per value) fits ``budget`` bits, with its cost."""
    length = min_len
    while True:
        head = gamma_bits(length + 1 - min_len)
        if head > budget:
            return
        yield from _values(length, budget - head, head)
        length += 1
        if length > MAX_IN:
            return


def _values(length: int, budget: int, spent: int) -> Iterator[tuple[tuple[int, ...], int]]:
    if length == 0:
        yield (), spent
        return
    v = 0
    while gamma_bits(v + 1) <= budget:
        c = gamma_bits(v + 1)
        for rest, cost in _values(length - 1, budget - c, spent + c):
            yield (v, *rest), cost
        v += 1


def tasks_up_to(max_bits: int) -> list[ForthTask]:
    """Every non-trivial task of at most ``max_bits`` bits, simplest first (ties: shorter x, then
    shorter y, then by value)."""
    found: list[tuple[int, int, int, ForthTask]] = []
    for x, xbits in _lists(max_bits - 1, 0):
        for y, ybits in _lists(max_bits - 1 - xbits, 1):
            if len(y) > MAX_OUT:
                continue
            t = ForthTask(x, y)
            if not t.trivial:
                found.append((1 + xbits + ybits, len(x), len(y), t))
    found.sort()
    return [t for _, _, _, t in found]


def write_task(tape: np.ndarray, row: int, task: ForthTask, cap: int = 0) -> None:
    """Tape ``row`` := the task's initial state (zeroed first): ``ds = x``, the target, the cap,
    the uniform search distribution, an empty call stack. Not recorded on the undo stack."""
    base = row * ROW
    tape[base: base + ROW] = 0
    tape[base - ATASK] = 0
    tape[base - ADP] = len(task.x)
    for k, v in enumerate(task.x, start=1):
        tape[base - (ADP + k)] = v
    tape[base - PP_CAP] = cap
    tape[base - PP_LEN] = len(task.y)
    for k, v in enumerate(task.y):
        tape[base - (PP_Y + k)] = v
    tape[base - ACP] = 0
    init_distribution(tape, row, POWERPLAY)


def set_cap(tape: np.ndarray, row: int, cap: int) -> None:
    """Set (or clear, with 0) the compression cap of tape ``row``."""
    tape[row * ROW - PP_CAP] = cap


def check_output(ds: Sequence[int], task: ForthTask) -> bool:
    """Independent check: the data stack (bottom first) ends with the task's output."""
    m = len(task.y)
    return len(ds) >= m and tuple(ds[len(ds) - m:]) == task.y


def _verify_tape(tape: np.ndarray, n: int) -> bool:
    base = n * ROW
    dp = max(0, min(int(tape[base - ADP]), MAXDP))
    ds = [int(tape[base - (ADP + k)]) for k in range(1, dp + 1)]
    m = int(tape[base - PP_LEN])
    y = tuple(int(tape[base - (PP_Y + k)]) for k in range(m))
    return m > 0 and len(ds) >= m and tuple(ds[dp - m:]) == y


POWERPLAY = register_task_set(OOPSTaskSet(
    "powerplay", 3, goal_powerplay, _inputs_none, (), _verify_tape, max_tasks=4095))

__all__ = ["COMPRESSION_BITS", "POWERPLAY", "ForthTask", "check_output", "gamma_bits",
           "goal_powerplay", "set_cap", "tasks_up_to", "write_task"]
