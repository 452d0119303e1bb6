"""The two task families of the OOPS experiment: 1^n2^n and the Towers of Hanoi (n = 1..30).

Schmidhuber, "Optimal Ordered Problem Solver", Machine Learning 54:211-254 (2004), Sec. 6.1, as
the original experiment program defines them. Task n has its own tape of the OOPS machine
(:mod:`metahook.machines.forth.layout`); its number (cell ``ATASK``) is n.

**1^n2^n** (``GOAL_1N2N``). Input: ds = [n]. Goal, tested after every executed instruction and
free of cost: the 2n topmost cells of the auxiliary stack Ds are n ones followed by n twos, with at
least one more cell of Ds below them (Dp > 2n). Initial bias: the uniform distribution over the 73
tokens (all numerators 1, sum 73), then ``c1 c2 dec by2 boostq`` each get +73 (denominator 438).

**Hanoi** (``GOAL_HANOI``). Input: ds = [1, 2, 3, n] (source, auxiliary, destination peg, disks);
peg 1 holds disks n..1 (largest at the bottom), pegs 2 and 3 are empty; each peg has a top pointer
and 30 disk cells on the tape. ``mvdsk`` moves the top disk from peg ds[b+1] to peg ds[b+3]; a move
onto a smaller disk or from an empty peg halts. Goal: pegs 1 and 2 are empty. Initial bias, set
afresh when the Hanoi phase starts (undoing all 1^n2^n boosts): uniform, then
``c3 c4 c5 dec by2 boostq`` each get +73 (denominator 511).

Both tasks are set up without recording changes on the undo stack: they are the tapes' initial
state, to which every search returns.

**Task sets as data.** Each family is an :class:`OOPSTaskSet` (the search layer's
:class:`metahook.search.protocols.TaskSet`): its name, its input and bias set-up (plain Python,
run once per phase), an independent plain-Python verifier, and its goal test as a *compiled
kernel* ``goal(M, row, task) -> bool`` (``M`` the machine's memory, address ``a`` of the task's
tape at ``M[row - a]``). Registered sets are selected by a compile-time key (:func:`call_goal`):
the search kernel is specialised for, and inlines, the kernel of the set it runs, so a new family
(PowerPlay's invented tasks, say) is a :func:`goal_kernel` and one :func:`register_task_set` call,
with no if-chain in a compiled function to edit and no cost per step. The key is a hash of the
set's name and its kernel's source, so numba's on-disk cache never serves a stale kernel. The
integer codes ``GOAL_*`` remain as the registered sets' numbers (the machine's register
``R_GOAL`` holds the code of the current set, so a checkpoint stays numbers).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numba
import numpy as np
from numba import njit, types
from numba.extending import overload

from metahook.machines.forth import instructions as ins
from metahook.machines.forth.layout import (
    ACURP,
    ADDP,
    ADP,
    AENV,
    APATP,
    ATASK,
    DSIZE,
    HANOI_MAXDISKS,
    MAX_TAPES,
    MAXTASK,
    NQ,
    NSQ,
    ROW,
    peg_address,
)

UPSQ = NSQ  # a boost adds n_Q to a numerator


def goal_kernel(fn: Callable[..., bool]) -> Any:
    """Compile ``fn(M, row, task) -> bool`` as a goal kernel (inlined into the search loop)."""
    return njit(cache=True, forceinline=True)(fn)


# ---------------------------------------------------------------- the goals, compiled
@goal_kernel
def goal_none(M, row, task):
    """No goal: a program runs until it halts or runs out of time."""
    return False


@goal_kernel
def goal_1n2n(M, row, task):
    """Ds ends with ``task`` ones then ``task`` twos, with a cell below them."""
    i = ADDP + M[row - ADDP]
    j = i - task - task
    if j <= ADDP:
        return False
    j += task
    while i > j and M[row - i] == 2:
        i -= 1
    if i != j:
        return False
    j -= task
    while i > j and M[row - i] == 1:
        i -= 1
    return i == j


@goal_kernel
def goal_hanoi(M, row, task):
    """Pegs 1 and 2 are empty."""
    return M[row - AENV] == 0 and M[row - (AENV + DSIZE)] == 0


# ---------------------------------------------------------------- set-up (plain Python)
def _cell(tape: np.ndarray, task: int, address: int, value: int) -> None:
    tape[task * ROW - address] = value


def _inputs_none(tape: np.ndarray, n: int) -> Sequence[int]:
    return ()


def _inputs_1n2n(tape: np.ndarray, n: int) -> Sequence[int]:
    return (n,)


def _inputs_hanoi(tape: np.ndarray, n: int) -> Sequence[int]:
    _cell(tape, n, peg_address(1), n)
    _cell(tape, n, peg_address(2), 0)
    _cell(tape, n, peg_address(3), 0)
    for i in range(1, n + 1):
        _cell(tape, n, peg_address(1) + i, n + 1 - i)
        _cell(tape, n, peg_address(2) + i, 0)
        _cell(tape, n, peg_address(3) + i, 0)
    return (1, 2, 3, n)


@dataclass(frozen=True)
class OOPSTaskSet:
    """A family of tasks n = 1..max_tasks for the OOPS machine (see the module docstring).

    ``inputs(tape, n)`` writes what task n needs beyond its data stack onto its tape and returns
    the data stack's initial contents; ``boosts`` are the tokens whose numerators get +n_Q in the
    phase's initial distribution; ``goal`` is the compiled goal kernel; ``verify(tape, n)`` is an
    independent plain-Python check of a final tape. ``max_tasks`` is the most tasks the set may
    pose: the original's 30 by default, at most ``MAX_TAPES``; a search gives its machine as many
    tapes as its task sets need. (Hanoi stays at 30: a peg holds 30 disks.)
    """

    name: str
    code: int
    goal: Any
    inputs: Callable[[np.ndarray, int], Sequence[int]]
    boosts: tuple[str, ...] = ()
    verify: Callable[[np.ndarray, int], bool] = field(default=lambda tape, n: False)
    max_tasks: int = MAXTASK

    def __post_init__(self) -> None:
        if not 1 <= self.max_tasks <= MAX_TAPES:
            raise ValueError(f"max_tasks must be in 1..{MAX_TAPES}, got {self.max_tasks}")
        for nm in self.boosts:
            ins.number(nm)  # raises on an unknown token

    def __len__(self) -> int:
        return self.max_tasks

    @cached_property
    def key(self) -> int:
        """The compile-time key of the goal kernel: a hash of the name and the kernel's source."""
        fn = getattr(self.goal, "py_func", self.goal)
        try:
            src = inspect.getsource(fn)
        except (OSError, TypeError):
            src = f"{fn.__module__}.{fn.__qualname__}"
        digest = hashlib.sha256(f"{self.name}\0{src}".encode()).digest()
        return int.from_bytes(digest[:7], "little")  # 56 bits: a positive int64

    def initial_state(self, tape: np.ndarray, task: int) -> None:
        """Task ``task``'s inputs, then the phase's initial distribution (unrecorded)."""
        init_task(tape, task, self)
        init_distribution(tape, task, self)


TASK_SETS: dict[str, OOPSTaskSet] = {}
_BY_CODE: dict[int, OOPSTaskSet] = {}
_KERNELS: dict[int, Any] = {}  # key -> goal kernel


def register_task_set(ts: OOPSTaskSet) -> OOPSTaskSet:
    """Make ``ts`` known by name and code (both must be new); returns it."""
    if ts.name in TASK_SETS or ts.code in _BY_CODE:
        raise ValueError(f"task set {ts.name!r} / code {ts.code} is already registered")
    TASK_SETS[ts.name] = ts
    _BY_CODE[ts.code] = ts
    _KERNELS[ts.key] = ts.goal
    return ts


def call_goal(key, M, row, task):
    """The goal test of the registered set whose :attr:`OOPSTaskSet.key` is ``key``.

    Compiled, ``key`` must be a compile-time constant (callers apply ``numba.literally``): the
    call then resolves, while typing, to that set's kernel, which is inlined.
    """
    return _KERNELS[key](M, row, task)


@overload(call_goal, jit_options={"forceinline": True})
def _call_goal(key, M, row, task):
    if not isinstance(key, types.IntegerLiteral):
        raise numba.errors.TypingError("call_goal: the key must be a compile-time constant")
    kernel = _KERNELS.get(key.literal_value)
    if kernel is None:
        raise numba.errors.TypingError(f"call_goal: no task set has the key {key.literal_value}")

    def impl(key, M, row, task):
        return kernel(M, row, task)

    return impl


def _importable(obj: Any) -> str | None:
    """``"module:qualname"`` of a module-level function (or numba dispatcher), else None."""
    fn = getattr(obj, "py_func", obj)
    mod, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not mod or not qual or "<" in qual:
        return None
    path = f"{mod}:{qual}"
    try:
        found = _resolve(path)
    except (ImportError, AttributeError):
        return None
    return path if found is obj else None


def _resolve(path: str) -> Any:
    import importlib

    mod, qual = path.split(":", 1)
    obj: Any = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _inputs_unknown(tape: np.ndarray, n: int) -> Sequence[int]:
    raise RuntimeError("this task set was registered from a spec without its inputs")


def _verify_unknown(tape: np.ndarray, n: int) -> bool:
    raise RuntimeError("this task set was registered from a spec without its verifier")


def task_set_spec(which: int | str | OOPSTaskSet) -> dict[str, Any]:
    """A task set as plain data, to register it in another process (:func:`register_spec`).

    Its goal kernel must be a module-level function of an importable module (the other process
    imports it from there); ``inputs`` and ``verify`` travel too when they are importable.
    """
    ts = task_set(which)
    goal = _importable(ts.goal)
    if goal is None:
        raise ValueError(f"task set {ts.name!r}: its goal kernel is not importable "
                         "(define it at module level in an importable module)")
    return {"name": ts.name, "code": ts.code, "key": ts.key, "goal": goal,
            "inputs": _importable(ts.inputs), "verify": _importable(ts.verify),
            "boosts": list(ts.boosts), "max_tasks": ts.max_tasks}


def register_spec(spec: dict[str, Any]) -> OOPSTaskSet:
    """Register the task set ``spec`` describes (made by :func:`task_set_spec`), unless it is
    registered already; a different set under its name or code raises."""
    known = _BY_CODE.get(int(spec["code"]))
    if known is not None and known.name == spec["name"] and known.key == int(spec["key"]):
        return known
    ts = OOPSTaskSet(
        str(spec["name"]), int(spec["code"]), _resolve(spec["goal"]),
        _resolve(spec["inputs"]) if spec.get("inputs") else _inputs_unknown,
        tuple(spec.get("boosts", ())),
        _resolve(spec["verify"]) if spec.get("verify") else _verify_unknown,
        int(spec["max_tasks"]))
    if ts.key != int(spec["key"]):
        raise ValueError(f"task set {ts.name!r}: the goal kernel {spec['goal']} differs here "
                         "from the one that was sent")
    return register_task_set(ts)


def task_set(which: int | str | OOPSTaskSet) -> OOPSTaskSet:
    """The task set with this code or name (or ``which`` itself)."""
    if isinstance(which, OOPSTaskSet):
        return which
    found = _BY_CODE.get(which) if isinstance(which, int) else TASK_SETS.get(which)
    if found is None:
        raise ValueError(f"unknown task set {which!r}; valid: {', '.join(TASK_SETS)}")
    return found


# ---------------------------------------------------------------- checkers (plain Python)
def Ds_of(tape: np.ndarray, task: int) -> list[int]:
    """The auxiliary stack Ds[1..Dp] of a task's tape."""
    r = task * ROW
    d = int(tape[r - ADDP])
    return [int(tape[r - (ADDP + k)]) for k in range(1, d + 1)]


def ds_of(tape: np.ndarray, task: int) -> list[int]:
    """The data stack ds[1..dp] of a task's tape."""
    r = task * ROW
    d = int(tape[r - ADP])
    return [int(tape[r - (ADP + k)]) for k in range(1, max(0, min(d, 200)) + 1)]


def pegs_of(tape: np.ndarray, task: int) -> list[list[int]]:
    """Disks on pegs 1..3, bottom first."""
    r = task * ROW
    out = []
    for tower in (1, 2, 3):
        a = peg_address(tower)
        h = int(tape[r - a])
        out.append([int(tape[r - (a + k)]) for k in range(1, h + 1)])
    return out


def check_1n2n(Ds: Sequence[int], n: int) -> bool:
    """Independent check of the 1^n2^n goal on a Ds list (bottom first)."""
    return len(Ds) > 2 * n and list(Ds[-2 * n:]) == [1] * n + [2] * n


def check_hanoi(pegs: Sequence[Sequence[int]], n: int) -> bool:
    """Independent check: all n disks on peg 3, largest at the bottom."""
    return not pegs[0] and not pegs[1] and list(pegs[2]) == list(range(n, 0, -1))


NONE = register_task_set(OOPSTaskSet("none", 0, goal_none, _inputs_none))
ONE_N_TWO_N = register_task_set(OOPSTaskSet(
    "1n2n", 1, goal_1n2n, _inputs_1n2n, ("c1", "c2", "dec", "by2", "boostq"),
    lambda tape, n: check_1n2n(Ds_of(tape, n), n)))
HANOI = register_task_set(OOPSTaskSet(
    "hanoi", 2, goal_hanoi, _inputs_hanoi, ("c3", "c4", "c5", "dec", "by2", "boostq"),
    lambda tape, n: check_hanoi(pegs_of(tape, n), n), max_tasks=HANOI_MAXDISKS))

GOAL_NONE, GOAL_1N2N, GOAL_HANOI = NONE.code, ONE_N_TWO_N.code, HANOI.code
TASKS = {"1n2n": GOAL_1N2N, "hanoi": GOAL_HANOI}  # the experiment's two families, by name
TASK_NAMES = {v: k for k, v in TASKS.items()}
BOOSTS = {ts.code: ts.boosts for ts in (NONE, ONE_N_TWO_N, HANOI)}
BUILTIN_CODES = frozenset(BOOSTS)  # registered on import, in every process


def init_distribution(tape: np.ndarray, task: int, goal: int | str | OOPSTaskSet) -> None:
    """Pattern 0 := uniform over the n_Q tokens, then the phase's boosts (+n_Q each)."""
    ts = task_set(goal)
    _cell(tape, task, APATP, 0)
    _cell(tape, task, ACURP, 0)
    p = np.ones(NSQ + 1, dtype=np.int64)
    p[0] = 0
    for nm in ts.boosts:
        p[ins.number(nm)] += UPSQ
    _cell(tape, task, ACURP + 1, int(p.sum()))
    _cell(tape, task, ACURP + 2, int(p.max()))
    for i in range(1, NSQ + 1):
        _cell(tape, task, ACURP + 2 + i, int(p[i]))


def init_task(tape: np.ndarray, task: int, goal: int | str | OOPSTaskSet) -> None:
    """Write task ``task``'s inputs onto its tape (on top of whatever the tape holds)."""
    ts = task_set(goal)
    _cell(tape, task, ATASK, task)
    inputs = ts.inputs(tape, task)
    _cell(tape, task, ADP, len(inputs))
    for k, v in enumerate(inputs, start=1):
        _cell(tape, task, ADP + k, v)


def n_tapes_of(tape: np.ndarray) -> int:
    """The number of task tapes in the machine's tape array (rows 1..n; row 0 is unused)."""
    return tape.shape[0] // ROW - 1


def init_all(tape: np.ndarray, goal: int | str | OOPSTaskSet) -> None:
    """Set up all the machine's task tapes for a phase (inputs, then the initial distribution)."""
    for task in range(1, n_tapes_of(tape) + 1):
        task_set(goal).initial_state(tape, task)


__all__ = [
    "BUILTIN_CODES",
    "GOAL_1N2N",
    "GOAL_HANOI",
    "GOAL_NONE",
    "HANOI",
    "NONE",
    "NQ",
    "ONE_N_TWO_N",
    "TASKS",
    "TASK_SETS",
    "OOPSTaskSet",
    "call_goal",
    "check_1n2n",
    "check_hanoi",
    "goal_1n2n",
    "goal_hanoi",
    "goal_kernel",
    "goal_none",
    "init_all",
    "init_distribution",
    "init_task",
    "register_spec",
    "register_task_set",
    "task_set",
    "task_set_spec",
]
