"""Levin search (LS) and adaptive Levin search (ALS) over the maze macro-language, with SSA.

Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130 (1997), sections 3 and 5 (ML97);
Wiering & Schmidhuber, ICML 1996 (ICML96), section 3.

Programs are sequences over positions ``0..l_max-1``. The probability of instruction ``j`` at
position ``i`` is ``M[i, j]``; a ``Jump`` at ``i`` draws its address from ``Mbar[i]`` and its
repeat count (1..MAXR) from ``Mhat[i]`` (ICML96's three matrices). A program's probability is the
product over its positions. Here the three matrices are the rows of one policy array ``P``
(``M`` rows ``0..l-1``, ``Mbar`` rows ``l..2l-1``, ``Mhat`` rows ``2l..3l-1``; unused columns 0),
so that SSA (:mod:`metahook.rsi.ssa`) can save and restore any of them.

**LS** (Levin 1973; ML97 section 3.1). Phase ``i = 1, 2, ...``: run every program ``p`` for at
most ``P(p) * 2^i`` steps, until one reaches the goal. Programs are generated lazily: a position
is chosen only when execution first reaches it, and programs that share a prefix share its
execution (the search is a depth-first walk over prefixes; a prefix whose probability times
``2^i`` is used up is abandoned). The search's cost is the number of steps executed.

**ALS** (ML97 section 5; ICML96): after LS has found ``q``, ``Adapt(q, M)``: for each position
``i < l(q)`` and every code ``j``: ``M[i, j] += γ (1 - M[i, j])`` if ``q_i = j``, else
``M[i, j] *= 1 - γ``; the same for ``Mbar`` and ``Mhat`` at positions holding a Jump.

**SSA + ALS** (ML97 section 5): every ``Adapt`` is a policy modification; right before it, SSA is
called (the evaluation criterion: a solution was found, reward ``1 / path length``), then the rows
``Adapt`` will change are pushed (:func:`adapt`, ``ssa_on``).

**As objects.** :class:`LevinRun` is one LS, advanced ``advance(phases)`` at a time (the
phase is the unit a Levin search cannot split), optionally giving up once its steps reach a cap
after a phase; :class:`ALS` poses a sequence of (start, goal) tasks to LS and adapts ``P`` after
each solution. Both are :class:`metahook.search.protocols.ProgramSearch`. :class:`MazeProblem` is
the same language for the plain-Python reference :mod:`metahook.search.naive`.

Glossary: ``M, Mbar, Mhat`` the probability matrices, ``l_max`` program positions, ``MAXR`` the
largest repeat count, ``γ`` ALS's learning rate, ``T = 2^i`` a phase's time limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.core.ssa_stack import ssa_save
from metahook.envs.pomaze import JUMP, N_INSTR, run_repeat

# ls_search's return codes
FOUND, NOT_FOUND = 0, 1


def uniform_policy(l_max: int, maxr: int) -> np.ndarray:
    """``P`` with uniform ``M``, ``Mbar``, ``Mhat`` (see the module docstring)."""
    w = max(N_INSTR, l_max, maxr)
    P = np.zeros((3 * l_max, w))
    P[:l_max, :N_INSTR] = 1.0 / N_INSTR
    P[l_max : 2 * l_max, :l_max] = 1.0 / l_max
    P[2 * l_max :, :maxr] = 1.0 / maxr
    return P


@njit(cache=True, **NO_REFCOUNT)
def _run(grid: np.ndarray, prog: np.ndarray, length: int, pos: np.ndarray, reg: np.ndarray,
         cnt: np.ndarray, goal_r: int, goal_c: int, limit: float) -> int:
    """Run the decided prefix (``length`` positions) from ``pos`` / ``reg = (ip, t, walked)``.

    Returns 0: the goal was reached; 1: out of time or off the program's end; 2: IP reached the
    first undecided position (``ip == length``).
    """
    l_max = prog.shape[0]
    while True:
        ip = reg[0]
        if ip == length:
            return 2
        if ip >= l_max:
            return 1
        reg[1] += 1
        if reg[1] > limit:
            return 1
        code = prog[ip, 0]
        if code == JUMP:
            if cnt[ip] < prog[ip, 2]:
                cnt[ip] += 1
                reg[0] = prog[ip, 1]
            else:
                cnt[ip] = 0
                reg[0] = ip + 1
            continue
        budget = int(limit - reg[1]) + 1
        steps = run_repeat(grid, pos, code, goal_r, goal_c, budget)
        if steps < 0:
            reg[1] += -steps - 1
            reg[2] += -steps - 1
            return 0
        reg[1] += steps
        reg[2] += steps
        if reg[1] > limit:
            return 1
        reg[0] = ip + 1


@njit(cache=True, **NO_REFCOUNT)
def ls_phase(
    grid: np.ndarray, start: np.ndarray, goal_r: int, goal_c: int, P: np.ndarray,
    l_max: int, maxr: int, T: float, prog: np.ndarray, snap: np.ndarray, snap_cnt: np.ndarray,
    choice: np.ndarray, prob: np.ndarray, cost: np.ndarray,
) -> int:
    """One LS phase with time limit ``T``: depth-first over program prefixes.

    ``prog[i] = (code, address, repeats)``; on :data:`FOUND` it holds the solution, whose length
    is returned in ``cost[1]``, its own run time (instructions and fields walked, start to goal)
    in ``cost[2]`` and the fields it walked in ``cost[3]``. ``cost[0]`` accumulates every step
    executed. Scratch: ``snap`` (l_max+1, 6), ``snap_cnt`` (l_max+1, l_max), ``choice``
    (l_max+2), ``prob`` (l_max+1).
    """
    n_choice = (N_INSTR - 1) + l_max * maxr
    pos = snap[l_max, 0:3]  # the working state lives in the last row of the scratch
    regs = snap[l_max, 3:6]  # (ip, t, walked)
    cnt = snap_cnt[l_max]
    # the root: nothing decided, IP at 0
    snap[0, 0] = start[0]
    snap[0, 1] = start[1]
    snap[0, 2] = start[2]
    snap[0, 3] = 0  # ip
    snap[0, 4] = 0  # t
    snap[0, 5] = 0  # fields walked
    for i in range(l_max):
        snap_cnt[0, i] = 0
    prob[0] = 1.0
    choice[0] = -1
    depth = 0
    while depth >= 0:
        choice[depth] += 1
        c = choice[depth]
        if c >= n_choice:
            depth -= 1
            continue
        # the choice's probability
        if c < N_INSTR - 1:
            code, addr, rep = c, 0, 0
            p = P[depth, c]
        else:
            k = c - (N_INSTR - 1)
            code, addr, rep = JUMP, k // maxr, k % maxr + 1
            if addr > depth:
                continue  # a jump to an undecided position cannot run
            p = P[depth, JUMP] * P[l_max + depth, addr] * P[2 * l_max + depth, rep - 1]
        pp = prob[depth] * p
        limit = pp * T
        if limit <= snap[depth, 4]:
            continue
        prog[depth, 0] = code
        prog[depth, 1] = addr
        prog[depth, 2] = rep
        for j in range(3):
            pos[j] = snap[depth, j]
        regs[0] = snap[depth, 3]
        regs[1] = snap[depth, 4]
        regs[2] = snap[depth, 5]
        for i in range(l_max):
            cnt[i] = snap_cnt[depth, i]
        t0 = regs[1]
        status = _run(grid, prog, depth + 1, pos, regs, cnt, goal_r, goal_c, limit)
        cost[0] += min(regs[1], int(limit)) - t0
        if status == 0:
            cost[1] = depth + 1
            cost[2] = regs[1]
            cost[3] = regs[2]
            return FOUND
        if status == 2 and depth + 1 < l_max:
            d = depth + 1
            for j in range(3):
                snap[d, j] = pos[j]
            snap[d, 3] = regs[0]
            snap[d, 4] = regs[1]
            snap[d, 5] = regs[2]
            for i in range(l_max):
                snap_cnt[d, i] = cnt[i]
            prob[d] = pp
            choice[d] = -1
            depth = d
    return NOT_FOUND


@njit(cache=True, **NO_REFCOUNT)
def adapt(
    P: np.ndarray, prog: np.ndarray, length: int, l_max: int, maxr: int, gamma: float,
    ssa_on: bool, tags: np.ndarray, entries: np.ndarray, mark: np.ndarray, counts: np.ndarray,
) -> int:
    """ALS's ``Adapt(q, M)`` towards the solution ``prog[:length]``; with ``ssa_on`` the changed
    rows are first pushed on the SSA stack (a block must be open). Returns rows pushed."""
    pushed = 0
    for i in range(length):
        rows = (i, l_max + i, 2 * l_max + i) if prog[i, 0] == JUMP else (i, -1, -1)
        for r in rows:
            if r >= 0 and ssa_on:
                pushed += max(0, ssa_save(tags, entries, mark, counts, P, r))
        _reinforce(P, i, prog[i, 0], N_INSTR, gamma)
        if prog[i, 0] == JUMP:
            _reinforce(P, l_max + i, prog[i, 1], l_max, gamma)
            _reinforce(P, 2 * l_max + i, prog[i, 2] - 1, maxr, gamma)
    return pushed


@njit(cache=True, **NO_REFCOUNT)
def _reinforce(P: np.ndarray, row: int, j: int, n: int, gamma: float) -> None:
    for k in range(n):
        if k == j:
            P[row, k] += gamma * (1.0 - P[row, k])
        else:
            P[row, k] *= 1.0 - gamma


class LevinSearch:
    """LS over one maze with a policy ``P`` (see the module docstring); reusable scratch."""

    def __init__(self, grid: np.ndarray, l_max: int = 6, maxr: int = 6) -> None:
        self.grid = np.ascontiguousarray(grid, dtype=np.int8)
        self.l_max, self.maxr = l_max, maxr
        self.prog = np.zeros((l_max, 3), dtype=np.int64)
        self.snap = np.zeros((l_max + 1, 6), dtype=np.int64)
        self.snap_cnt = np.zeros((l_max + 1, l_max), dtype=np.int64)
        self.choice = np.zeros(l_max + 2, dtype=np.int64)
        self.prob = np.zeros(l_max + 1)
        self.cost = np.zeros(4, dtype=np.int64)

    def phase(self, P: np.ndarray, start: np.ndarray, goal: tuple[int, int], i: int
              ) -> tuple[bool, int, int, np.ndarray]:
        """Phase ``i`` (``T = 2^i``): (found, its steps, fields walked, program)."""
        self.cost[:] = 0
        status = ls_phase(self.grid, start, goal[0], goal[1], P, self.l_max, self.maxr,
                          float(2.0**i), self.prog, self.snap, self.snap_cnt, self.choice,
                          self.prob, self.cost)
        if status == FOUND:
            n = int(self.cost[1])
            return True, int(self.cost[0]), int(self.cost[3]), self.prog[:n].copy()
        return False, int(self.cost[0]), 0, np.zeros((0, 3), dtype=np.int64)

    def search(self, P: np.ndarray, start: tuple[int, int, int], goal: tuple[int, int],
               max_phase: int = 40, max_steps: int = 0) -> tuple[bool, int, int, np.ndarray]:
        """LS until a program reaches ``goal``: (found, search steps, fields walked, program).

        With ``max_steps`` > 0 it gives up after the first phase that brings the steps to it."""
        run = LevinRun(self, P, start, goal, max_phase, max_steps)
        while not run.finished:
            run.advance(1)
        return run.found, run.steps, run.path, run.program


class LevinRun:
    """One LS for ``goal`` from ``start`` under the bias ``P`` (read, never changed), in phases.

    Phases ``i = 1..max_phase``; with ``max_steps`` > 0 the search gives up once its steps reach
    ``max_steps`` at the end of a phase (the last phase may overshoot). A
    :class:`metahook.search.protocols.ProgramSearch` whose budget unit is the phase.
    """

    def __init__(self, ls: LevinSearch, P: np.ndarray, start: tuple[int, int, int],
                 goal: tuple[int, int], max_phase: int = 40, max_steps: int = 0) -> None:
        self.ls, self.P = ls, P
        self.start = np.array(start, dtype=np.int64)
        self.goal = (int(goal[0]), int(goal[1]))
        self.max_phase, self.max_steps = max_phase, max_steps
        self.phase = 0  # phases done
        self.steps = 0
        self.found = False
        self.gave_up = False
        self.path = 0
        self.program = np.zeros((0, 3), dtype=np.int64)

    @property
    def finished(self) -> bool:
        return self.found or self.gave_up or self.phase >= self.max_phase

    def advance(self, phases: int) -> list[dict[str, Any]]:
        """Up to ``phases`` more phases; the solution (as an event) if one was found."""
        for _ in range(phases):
            if self.finished:
                break
            self.phase += 1
            found, steps, path, prog = self.ls.phase(self.P, self.start, self.goal, self.phase)
            self.steps += steps
            if found:
                self.found, self.path, self.program = True, path, prog
                return [{"phase": self.phase, "steps": self.steps, "path": path,
                         "program": prog.tolist()}]
            if self.max_steps and self.steps >= self.max_steps:
                self.gave_up = True
        return []

    def state_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "steps": self.steps, "found": self.found,
                "gave_up": self.gave_up, "path": self.path, "program": self.program.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.phase, self.steps = int(state["phase"]), int(state["steps"])
        self.found, self.gave_up = bool(state["found"]), bool(state["gave_up"])
        self.path = int(state["path"])
        self.program = np.asarray(state["program"], dtype=np.int64).reshape(-1, 3)


@dataclass
class Solution:
    """ALS solved task ``task``: its LS's steps and phase, the path walked, the program."""

    task: int
    steps: int
    phase: int
    path: int
    program: list[list[int]]


class ALS:
    """Adaptive Levin search over a sequence of maze tasks (ML97 sec. 5; ICML96).

    Task ``k`` is (start, goal); LS solves them in order under the bias ``P``, and after each
    solution ``Adapt(q, P)`` with learning rate ``gamma`` (SSA, if wanted, wraps :func:`adapt`
    itself: see ``experiments/ssa_als_transfer.py``). A task LS gives up on (``max_steps``) is
    skipped unadapted. ``advance(phases)`` counts LS phases across tasks.
    """

    def __init__(self, grid: np.ndarray, tasks: Sequence[tuple[tuple[int, int, int],
                                                               tuple[int, int]]],
                 gamma: float, l_max: int = 6, maxr: int = 6, max_phase: int = 40,
                 max_steps: int = 0) -> None:
        self.ls = LevinSearch(grid, l_max, maxr)
        self.tasks = [(tuple(int(x) for x in s), (int(g[0]), int(g[1]))) for s, g in tasks]
        self.gamma, self.max_phase, self.max_steps = gamma, max_phase, max_steps
        self.P = uniform_policy(l_max, maxr)
        self.task = 0
        self.steps = 0  # all LS steps so far
        self.failures = 0
        self.run = self._run_for(0) if self.tasks else None
        self._no_ssa = (np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(3 * l_max, dtype=np.int64),
                        np.zeros(7, dtype=np.int64))

    def _run_for(self, k: int) -> LevinRun:
        start, goal = self.tasks[k]
        return LevinRun(self.ls, self.P, start, goal, self.max_phase,  # type: ignore[arg-type]
                        self.max_steps)

    @property
    def finished(self) -> bool:
        return self.task >= len(self.tasks)

    def advance(self, phases: int) -> list[Solution]:
        """Up to ``phases`` LS phases; the tasks solved meanwhile."""
        events: list[Solution] = []
        left = phases
        while left > 0 and not self.finished:
            run = self.run
            assert run is not None
            before = run.steps
            run.advance(1)
            left -= 1
            self.steps += run.steps - before
            if not run.finished:
                continue
            if run.found:
                events.append(Solution(self.task, run.steps, run.phase, run.path,
                                       run.program.tolist()))
                adapt(self.P, run.program, len(run.program), self.ls.l_max, self.ls.maxr,
                      self.gamma, False, *self._no_ssa)
            else:
                self.failures += 1
            self.task += 1
            self.run = self._run_for(self.task) if not self.finished else None
        return events

    def state_dict(self) -> dict[str, Any]:
        return {"P": self.P.copy(), "task": self.task, "steps": self.steps,
                "failures": self.failures,
                "run": None if self.run is None else self.run.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        np.copyto(self.P, np.asarray(state["P"], dtype=np.float64))
        self.task, self.steps = int(state["task"]), int(state["steps"])
        self.failures = int(state["failures"])
        self.run = None
        if state["run"] is not None:
            self.run = self._run_for(self.task)
            self.run.load_state_dict(state["run"])


@dataclass
class _MazeState:
    pos: np.ndarray  # (row, col, direction)
    cnt: np.ndarray  # per position: times its Jump has jumped
    ip: int = 0
    t: int = 0
    walked: int = 0


class MazeProblem:
    """The maze language of :func:`ls_phase` for :mod:`metahook.search.naive`, in plain Python
    (the instructions themselves run :func:`metahook.envs.pomaze.run_repeat`).

    A token is ``(code, address, repeats)``; ``choices`` orders them as the kernel does (the
    eight REPEAT codes, then Jump(address, repeats) for address <= position, repeats 1..MAXR).
    """

    def __init__(self, grid: np.ndarray, P: np.ndarray, start: tuple[int, int, int],
                 goal: tuple[int, int], l_max: int = 6, maxr: int = 6) -> None:
        self.grid = np.ascontiguousarray(grid, dtype=np.int8)
        self.P, self.start_pos, self.goal = P, start, goal
        self.max_length, self.maxr = l_max, maxr

    def choices(self, prefix: Sequence[Any]) -> list[tuple[Any, float]]:
        i, l_max, P = len(prefix), self.max_length, self.P
        out: list[tuple[Any, float]] = [((c, 0, 0), float(P[i, c])) for c in range(N_INSTR - 1)]
        for addr in range(i + 1):
            for rep in range(1, self.maxr + 1):
                p = P[i, JUMP] * P[l_max + i, addr] * P[2 * l_max + i, rep - 1]
                out.append(((JUMP, addr, rep), float(p)))
        return out

    def start(self) -> _MazeState:
        return _MazeState(np.array(self.start_pos, dtype=np.int64),
                          np.zeros(self.max_length, dtype=np.int64))

    def run(self, s: _MazeState, program: Sequence[Any], limit: float) -> str:
        while True:
            ip = s.ip
            if ip == len(program):
                return "more"
            s.t += 1
            if s.t > limit:
                return "stopped"
            code, addr, rep = program[ip]
            if code == JUMP:
                if s.cnt[ip] < rep:
                    s.cnt[ip] += 1
                    s.ip = addr
                else:
                    s.cnt[ip] = 0
                    s.ip = ip + 1
                continue
            steps = int(run_repeat(self.grid, s.pos, code, self.goal[0], self.goal[1],
                                   int(limit - s.t) + 1))
            if steps < 0:
                s.t += -steps - 1
                s.walked += -steps - 1
                return "solved"
            s.t += steps
            s.walked += steps
            if s.t > limit:
                return "stopped"
            s.ip = ip + 1
