"""PowerPlay on a SLIM net: weight changes found by Levin search, two task spaces.

Srivastava, Steunebrink & Schmidhuber, "First experiments with PowerPlay", Neural Networks
41:130-136 (2013), arXiv 1210.8385 (ICDL 2012 version with Stollenga); PowerPlay itself:
Schmidhuber, Frontiers in Psychology 4:313 (2013). The solver is a self-delimiting (SLIM) net
(:mod:`metahook.machines.slim`); the loop is :class:`metahook.rsi.powerplay.core.PowerPlay`. Two
domains share everything but their tasks:

* :class:`PatternDomain` (``powerplay-slim-patterns``): a task is a binary input pattern and the
  class the net must report: halt within ``task_steps`` steps with that unit winning the output
  WTA group.
* :class:`FoveaDomain` (``powerplay-slim-fovea``): a retina of ``ry x rx`` binary pixels over a
  grey image (scikit-learn's ``china.jpg``, shipped with it) feeds the inputs; four motor units in
  one WTA group move the retina by one window (``ry`` or ``rx`` pixels); a task is a start window,
  a command (a bit pattern clamped on ``commands`` extra input units for the whole run; 0: none)
  and a target window: from the start, under the command, halt with the retina on the target. A
  solution's action sequence is the moves of its run.

**The net** (:class:`NetShape`): ``n_in`` input units, the halt unit alone in WTA group 0, then an
output group (patterns: one unit per class; fovea: the four motor units), then hidden WTA groups;
thresholds ``theta`` (default 0); all weights 0 at the start: the search grows the program.

**A modification** sets ``k = 1`` or ``2`` connections ``j -> i`` to values from the alphabet
``values`` (default ``1, -1, 2, 0``; 0 removes a connection). Connections run from every unit but
the halt unit (whose outgoing weights are never read) to every non-input unit: ``n_conn`` of them.
Its probability is a prefix code over ``(k, connections, values)``: ``k`` in unary (``2^-k``),
then each change as a connection and a value drawn uniformly, the ``k!`` orders of a set counted
once: ``P(m) = k! 2^-k (n_conn |values|)^-k``. Given the share ``T`` of a phase, the search runs
the candidates in Levin order, all of ``k = 1`` before ``k = 2``; each may use
``floor(T P(m))`` net steps: first a run of the new task (step limit the smaller of that and
``task_steps``), then, if it solves it, the repertoire tasks the change can affect, one after the
other, until the budget is spent. So a search's total work is at most ``T`` (a test checks it).
The order among candidates of equal ``P(m)`` is deterministic and seeded: the first change runs
over (connection, value) in a pseudo-random permutation (an affine map ``p -> (a p + b) mod N``
with ``a, b`` from a hash of the domain's salt, the task and ``k``), the second change likewise
for each first one; the salt (drawn from the named stream ``powerplay-slim-order``) and that
stream's state are saved in the state.

**Which runs a change can affect** (the machine's note, :meth:`SlimNet.affected_tasks`): a change
of connection ``j -> i`` can alter a run iff unit ``j`` was *considered* in it (active in a step
before its end). Components are therefore encoded so that the core's ``used & changed`` is exactly
this rule: ``Outcome.used`` holds the ids ``j * n + i`` of the used connections and ``n * n + j``
of the considered units; a candidate's ``changed`` holds ``j * n + i`` and ``n * n + j`` for each
changed connection. A candidate whose changed sources are all unconsidered in the current net's
run of the new task cannot solve it (the run stays the same) and is skipped without a run.

**Compression task** (``search(None, ...)``): lower ``(used connections summed over the
repertoire, net steps summed over it)`` lexicographically, every task still solved: fewer used
connections, or as many and fewer steps. The core's ``cap`` is ignored; the domain tells the core
its criterion through the optional ``compression_cost`` hook of
:class:`metahook.rsi.powerplay.core.Domain`.

Decisions where the paper is unclear
------------------------------------
The papers' method sections could not be read here (see the SLIM package's docstring); each point
is paper / ours / why, for docs/powerplay.md's Deviations table.

- Net sizes. Paper: not found. Ours: patterns 6 inputs (quick) or 8 (full), 4 classes, two
  hidden WTA groups of 4; fovea a 3x3 retina over 4x4 (quick) or 8x8 (full) windows, 4 motor
  units, two hidden groups of 4 (all config). Why: small enough that a search of two-weight
  changes runs in seconds on one core, large enough that the repertoire keeps growing for the
  length of a full run.
- Initial weights. Paper: not found ([M]: most connections absent). Ours: all zero. Why: the
  search grows the program; every used connection was put there by an accepted change.
- Modifications and their prior. Paper: a few weights changed ([M]); distribution not found.
  Ours: 1 or 2 weights set to values from ``{1, -1, 2, 0}``, ``P(m) = k! 2^-k (n_conn
  |values|)^-k``, Levin order (all of ``k = 1`` first), budget ``floor(T P(m))`` net steps
  shared by the run of the new task and the validation of the old tasks it may affect. Why: a
  prefix code over (k, connections, values) as the brief asks; three-weight changes
  (``P ~ 2^-31``) would need phases beyond a one-hour run.
- Skipped candidates. Paper: not found. Ours: a candidate that changes no connection of a unit
  considered in the current run of the new task (compression: of any repertoire task) is not
  run, and neither is a pair whose first change alone fails the new task while its second
  change's source is not considered in that run (the pair's run is the first change's run,
  charged once): their outcomes are known. A search whose candidates all ran to completion within
  their budgets and found nothing is remembered until the next acceptance (saved in the state)
  and not repeated in later phases. Why: SLIM's point (unused weights do not matter); the result
  is the same as running them, only the step counts and the wall time are lower.
- Where validation happens. Paper: the correctness demonstration re-tests the tasks that depend
  on the changed connections. Ours: the search already validates (within the candidate's
  budget) the tasks the change can affect, so a candidate it returns passes the core's
  demonstration, which re-runs them once more (charged as demonstration time). Why: the core asks
  the domain for one candidate per (task, phase); returning one that breaks an old task would
  lose the task for the whole phase. The core's ``track_dependencies`` switch therefore changes
  only the demonstration's re-runs: the search always validates with the exact rule, and both
  settings accept the same pairs (tests/test_powerplay_slim.py).
- Pattern tasks. Paper: self-invented pattern-recognition tasks; encoding not found. Ours: all
  non-zero binary patterns of ``n_in`` bits times the classes, description length ``1 +
  gamma(ones) + ceil(log2 C(n_in, ones)) + ceil(log2 classes)`` bits (the first bit tells it
  from the compression task); the class is read when the net halts (the winning output unit).
  Why: an enumerable prefix code that puts patterns with few (or all) ones first.
- Fovea tasks. Paper: a fovea over a static image, action sequences; sizes not found. Ours:
  ``china.jpg`` in grey, cropped to a square, averaged down to ``grid * ry`` pixels and
  binarised by local contrast (brighter than the mean of the 3x3 neighbourhood); retina windows
  on a ``grid x grid`` lattice, moves of one window; task = (start window with a non-blank
  retina, target window), description length ``1 + ceil(log2 starts) + code(dy) + code(dx)``
  with ``code(d) = gamma(|d| + 1)`` plus a sign bit. Why: a global threshold left most windows
  all-on or all-off (13 distinct windows of 64 at grid 8), so starts could not be told apart;
  local contrast gives 49 distinct windows and no blank one. A blank retina activates nothing
  (a net could never act from there), so such windows are no starts; window-sized moves keep
  the positions on a lattice.
- Commands. Paper: not found. Ours: ``commands`` clamped input units (2 in the full run), a task
  names one of their ``2^commands`` patterns (none: 1 bit; another: ``1 + ceil(log2(2^commands
  - 1))`` bits). Why: a net is deterministic, so without a task input each start window admits
  one trajectory only; the repertoire then holds at most one task per start, and a run without
  commands (results/powerplay-slim-fovea/no-commands) stopped after 28 new tasks, every solution
  at most one move long. With commands, the same start can lead to different action sequences,
  and a command unit that stays on can keep a motor (or a hidden unit) busy for several steps.
- Compression. Paper: tasks may ask to compress or speed up earlier solutions ([M]: fewer used
  connections or fewer steps). Ours: lower (total used connections, total steps)
  lexicographically over the whole repertoire. Why: SLIM's program is its used connections, so
  fewer of them is simpler; the step sum breaks ties as the speed-up task.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.core.seeding import restore_generator, rng_for
from metahook.envs.powerplay_tasks import gamma_bits
from metahook.machines.slim import Fovea, SlimNet, run_batch, run_fovea_batch
from metahook.machines.slim.kernel import slim_run
from metahook.machines.slim.reference import ReferenceSlim
from metahook.rsi.powerplay.core import Candidate, Outcome

DEFAULT_VALUES = (1.0, -1.0, 2.0, 0.0)
MAX_CHANGES = 2  # candidates change 1 or 2 weights


def _ceil_log2(n: int) -> int:
    return max(0, (n - 1).bit_length())


# ---------------------------------------------------------------------------- tasks
@dataclass(frozen=True, order=True)
class PatternTask:
    """Halt on ``pattern`` (0/1 per input unit) with output unit ``label`` winning."""

    pattern: tuple[int, ...]
    label: int

    def to_json(self) -> dict[str, Any]:
        return {"pattern": list(self.pattern), "label": self.label}

    @classmethod
    def from_json(cls, data: Any) -> PatternTask:
        return cls(tuple(int(b) for b in data["pattern"]), int(data["label"]))

    def text(self) -> str:
        return "".join(map(str, self.pattern)) + f"->{self.label}"


@dataclass(frozen=True, order=True)
class FoveaTask:
    """From window ``start`` (grid row, column), with ``command`` (a number whose bits are
    clamped on the command units; 0: none) on, halt with the retina on window ``target``."""

    start: tuple[int, int]
    target: tuple[int, int]
    command: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": list(self.start), "target": list(self.target)}
        if self.command:
            out["command"] = self.command
        return out

    @classmethod
    def from_json(cls, data: Any) -> FoveaTask:
        s, t = data["start"], data["target"]
        return cls((int(s[0]), int(s[1])), (int(t[0]), int(t[1])), int(data.get("command", 0)))

    def text(self) -> str:
        cmd = f" c{self.command}" if self.command else ""
        return f"{self.start}{cmd}->{self.target}"


# ---------------------------------------------------------------------------- the net
@dataclass(frozen=True)
class NetShape:
    """Units: ``n_in`` inputs, the halt unit (group 0), the output group of ``outputs`` units
    (group 1), then the hidden groups (sizes ``hidden``); ``theta`` every unit's threshold."""

    n_in: int
    outputs: int
    hidden: tuple[int, ...] = (4, 4)
    theta: float = 0.0
    values: tuple[float, ...] = DEFAULT_VALUES
    clamped: int = 0  # command units (last unit indices)

    def validate(self) -> None:
        if self.n_in < 1 or self.outputs < 1 or any(h < 1 for h in self.hidden):
            raise ValueError("n_in, outputs and every hidden group size must be >= 1")
        if not 0 <= self.clamped <= 8:
            raise ValueError("need 0 <= command units <= 8")
        if len(set(self.values)) != len(self.values) or not self.values:
            raise ValueError("values must be distinct and not empty")
        if not all(math.isfinite(v) for v in self.values):
            raise ValueError("values must be finite")

    def net(self) -> SlimNet:
        return SlimNet.zeros(self.n_in, [self.outputs, *self.hidden], self.theta, self.clamped)

    @property
    def halt(self) -> int:
        return self.n_in

    @property
    def first_output(self) -> int:
        return self.n_in + 1


# ---------------------------------------------------------------------------- kernels
@njit(cache=True, **NO_REFCOUNT)
def _solve(W: np.ndarray, group: np.ndarray, theta: np.ndarray, inputs: np.ndarray, halt: int,
           clamp: np.ndarray, image: np.ndarray, rx: int, y: int, x: int, mdy: np.ndarray,
           mdx: np.ndarray, max_steps: int, unit: int, ty: int, tx: int, act: np.ndarray,
           net: np.ndarray, flag: np.ndarray, touched: np.ndarray, best: np.ndarray,
           used: np.ndarray, cons: np.ndarray, pos: np.ndarray) -> tuple[bool, bool, int]:
    """One run; ``(solved, halted, steps)``; ``cons`` is cleared first (``used`` is scratch)."""
    for i in range(cons.shape[0]):
        cons[i] = False
    h, t = slim_run(W, group, theta, inputs, halt, clamp, image, rx, y, x, mdy, mdx, max_steps, act,
                    net, flag, touched, best, used, cons, pos)
    ok = h and (unit < 0 or act[unit] != 0.0) and (ty < 0 or (pos[0] == ty and pos[1] == tx))
    return ok, h, t


@njit(cache=True, **NO_REFCOUNT)
def _used_count(W: np.ndarray, group: np.ndarray, cons: np.ndarray) -> int:
    """Connections a run used: non-zero, from a considered unit to a non-input unit."""
    n = W.shape[0]
    c = 0
    for j in range(n):
        if cons[j]:
            for i in range(n):
                if group[i] >= 0 and W[j, i] != 0.0:
                    c += 1
    return c


@njit(cache=True, **NO_REFCOUNT)
def _try(W: np.ndarray, group: np.ndarray, theta: np.ndarray, inputs: np.ndarray, halt: int,
         clamps: np.ndarray, images: np.ndarray, rx: int, mdy: np.ndarray, mdx: np.ndarray,
         task_steps: int, new_task: np.ndarray, rep: np.ndarray, r_cons: np.ndarray, s1: int,
         s2: int, budget: int, act: np.ndarray, net: np.ndarray, flag: np.ndarray,
         touched: np.ndarray, best: np.ndarray, used: np.ndarray, cons: np.ndarray,
         pos: np.ndarray) -> tuple[bool, int, bool]:
    """The candidate already written into ``W`` (changed sources ``s1``, ``s2``; -1: none) within
    ``budget`` steps: the new task, then the repertoire tasks whose runs considered ``s1`` or
    ``s2``; ``(passed, steps spent, stopped by the budget)``. For the compression task
    (``new_task[0] < 0``) it passes if it also lowers (used connections, steps) of the
    repertoire lexicographically."""
    compress = new_task[0] < 0
    spend = 0
    ok = True
    cut = False
    if not compress:
        lim = min(task_steps, budget)
        ok, h, t = _solve(W, group, theta, inputs, halt, clamps[new_task[6]], images[new_task[0]],
                          rx, new_task[1], new_task[2], mdy, mdx, lim, new_task[3], new_task[4],
                          new_task[5], act, net, flag, touched, best, used, cons, pos)
        spend += t
        if not h and lim < task_steps:
            cut = True
    hit = 0
    d_conn = 0
    d_steps = 0
    if ok:
        for i in range(rep.shape[0]):
            if not (r_cons[i, s1] or (s2 >= 0 and r_cons[i, s2])):
                continue
            hit += 1
            left = budget - spend
            if left <= 0:
                ok = False
                cut = True
                break
            lim = min(task_steps, left)
            ok, h, t = _solve(W, group, theta, inputs, halt, clamps[rep[i, 6]], images[rep[i, 0]],
                              rx, rep[i, 1], rep[i, 2], mdy, mdx, lim, rep[i, 3], rep[i, 4],
                              rep[i, 5], act, net, flag, touched, best, used, cons, pos)
            spend += t
            if not ok:
                if not h and lim < task_steps:
                    cut = True
                break
            d_conn += _used_count(W, group, cons) - rep[i, 7]
            d_steps += t - rep[i, 8]
    if ok and compress:
        ok = hit > 0 and (d_conn < 0 or (d_conn == 0 and d_steps < 0))
    return ok, spend, cut


@njit(cache=True, **NO_REFCOUNT)
def _levin(W: np.ndarray, group: np.ndarray, theta: np.ndarray, inputs: np.ndarray, halt: int,
           clamps: np.ndarray, images: np.ndarray, rx: int, mdy: np.ndarray, mdx: np.ndarray,
           task_steps: int, new_task: np.ndarray, rep: np.ndarray, r_cons: np.ndarray,
           src: np.ndarray, dst: np.ndarray, values: np.ndarray, rel: np.ndarray,
           is_rel: np.ndarray, k: int, budget: int, a1: int, b1: int, a2: int, b2: int,
           act: np.ndarray, net: np.ndarray, flag: np.ndarray, touched: np.ndarray,
           best: np.ndarray, used: np.ndarray, cons: np.ndarray, pos: np.ndarray, cons1: np.ndarray,
           out: np.ndarray) -> None:
    """The candidates with ``k`` (1 or 2) changes, each with ``budget`` net steps, until one
    passes (:func:`_try`).

    The first change runs over the relevant connections ``rel`` (a considered source; flagged in
    ``is_rel``) times the values, in the order ``p -> (a1 p + b1) mod N1``; the second over all
    connections times the values, ``p -> (a2 p + b2) mod N2``. A pair is skipped, unrun, when its
    outcome is known: both changes relevant and the second listed first (the pair was tried the
    other way round), or (not the compression task) the first change alone does not solve the new
    task and the second change's source is not considered in that run (the pair's run is the
    first change's run, charged once). ``new_task``: ``(image, y, x, unit, ty, tx, command)``,
    ``image = -1`` for the compression task; ``rep``: ``(m, 9)`` rows ``(image, y, x, unit, ty,
    tx, command, used connections, steps)`` of the repertoire under the current net, ``r_cons``
    their considered units. ``out`` gets ``(found?, steps spent, a candidate was cut by its
    budget, c1, v1, c2, v2)``. ``W`` is changed during a candidate's runs and restored after them.
    """
    nC = src.shape[0]
    nV = values.shape[0]
    N1 = rel.shape[0] * nV
    N2 = nC * nV
    compress = new_task[0] < 0
    spent = 0
    any_cut = False
    out[0] = 0
    out[3] = out[4] = out[5] = out[6] = -1
    for p1 in range(N1):
        idx = (a1 * p1 + b1) % N1
        c1 = rel[idx // nV]
        v1 = idx % nV
        s1 = src[c1]
        d1 = dst[c1]
        old1 = W[s1, d1]
        if old1 == values[v1]:
            continue
        W[s1, d1] = values[v1]
        if k == 1:
            ok, spend, cut = _try(W, group, theta, inputs, halt, clamps, images, rx, mdy, mdx,
                                  task_steps, new_task, rep, r_cons, s1, -1, budget, act, net, flag,
                                  touched, best, used, cons, pos)
            spent += spend
            any_cut = any_cut or cut
            if ok:
                W[s1, d1] = old1
                out[0] = 1
                out[3] = c1
                out[4] = v1
                break
        else:
            solved1 = True
            if not compress:
                lim = min(task_steps, budget)
                solved1, h, t = _solve(W, group, theta, inputs, halt, clamps[new_task[6]],
                                       images[new_task[0]], rx, new_task[1], new_task[2], mdy,
                                       mdx, lim, new_task[3], new_task[4], new_task[5], act, net,
                                       flag, touched, best, used, cons, pos)
                spent += t
                if not h and lim < task_steps:
                    any_cut = True
                for i in range(cons.shape[0]):
                    cons1[i] = cons[i]
            found = False
            for p2 in range(N2):
                idx2 = (a2 * p2 + b2) % N2
                c2 = idx2 // nV
                v2 = idx2 % nV
                if c2 == c1 or (is_rel[c2] and c2 < c1):
                    continue
                s2 = src[c2]
                if not solved1 and not cons1[s2]:
                    continue
                d2 = dst[c2]
                old2 = W[s2, d2]
                if old2 == values[v2]:
                    continue
                W[s2, d2] = values[v2]
                ok, spend, cut = _try(W, group, theta, inputs, halt, clamps, images, rx, mdy,
                                      mdx, task_steps, new_task, rep, r_cons, s1, s2, budget, act,
                                      net, flag, touched, best, used, cons, pos)
                W[s2, d2] = old2
                spent += spend
                any_cut = any_cut or cut
                if ok:
                    found = True
                    out[0] = 1
                    out[3] = c1
                    out[4] = v1
                    out[5] = c2
                    out[6] = v2
                    break
            if found:
                W[s1, d1] = old1
                break
        W[s1, d1] = old1
    out[1] = spent
    out[2] = 1 if any_cut else 0


# ---------------------------------------------------------------------------- the domain
@dataclass
class _Current:
    """The current net's run of one task (a memo, not charged: the core charged it)."""

    solved: bool
    steps: int
    considered: np.ndarray
    connections: int


class SlimDomain:
    """The part of PowerPlay's domain both task spaces share: the net, the search, the runs.

    Subclasses give the task space: ``_all_tasks`` (tasks with their bits, simplest first),
    ``_row`` (a task as ``(image, y, x, unit, ty, tx, command)``), the images, the command
    clamps (row ``c``: the units' values under command ``c``), the motor arrays and the JSON form
    of a task.
    """

    kind = ""

    def __init__(self, shape: NetShape, task_steps: int, seed: int = 0,
                 max_changes: int = MAX_CHANGES) -> None:
        shape.validate()
        if task_steps < 1:
            raise ValueError("task_steps must be >= 1")
        if not 1 <= max_changes <= MAX_CHANGES:
            raise ValueError(f"max_changes must be 1 .. {MAX_CHANGES}")
        self.shape, self.task_steps, self.max_changes = shape, task_steps, max_changes
        self.net = shape.net()
        self._scratch = self.net.copy()
        n = self.net.n
        targets = np.flatnonzero(self.net.group >= 0)
        sources = [j for j in range(n) if j != self.net.halt]
        self.src = np.array([j for j in sources for _ in targets], dtype=np.int64)
        self.dst = np.array([i for _ in sources for i in targets], dtype=np.int64)
        self.values = np.array(shape.values, dtype=np.float64)
        self.n_conn = int(self.src.size)
        base = self.n_conn * len(shape.values)
        # budget of a candidate with k changes: floor(T P(m)) = T // denom[k]
        self.denom = {k: (2**k * base**k) // math.factorial(k) for k in range(1, MAX_CHANGES + 1)}
        self.min_share = self.denom[1]
        self.rng = rng_for("powerplay-slim-order", seed)
        self.salt = int(self.rng.integers(1 << 62))
        self._scratch_arrays = (np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.bool_),
                                np.zeros(n, dtype=np.int64),
                                np.full(self.net.n_groups, -1, dtype=np.int64),
                                np.zeros((n, n), dtype=np.bool_), np.zeros(n, dtype=np.bool_),
                                np.zeros(2, dtype=np.int64), np.zeros(n, dtype=np.bool_))
        self._memo: dict[Any, _Current] = {}
        self._rep_cache: tuple[int, np.ndarray, np.ndarray] | None = None
        self._exhausted: set[str] = set()
        self._tasks: list[tuple[Any, int]] = []
        self._bits: list[int] = []
        self.log2_p = {k: -math.log2(self.denom[k]) for k in self.denom}

    # -------------------------------------------------- what a subclass gives
    images: np.ndarray  # (n_images, H, W) float64
    clamps: np.ndarray  # (n_commands, n) float64
    rx: int
    mdy: np.ndarray
    mdx: np.ndarray

    def _row(self, task: Any) -> tuple[int, int, int, int, int, int, int]:
        raise NotImplementedError

    def task_json(self, task: Any) -> Any:
        return task.to_json()

    def task_from_json(self, data: Any) -> Any:
        raise NotImplementedError

    def _batch(self, net: SlimNet, tasks: Sequence[Any], max_steps: int) -> Any:
        raise NotImplementedError

    def _info(self, task: Any, W: np.ndarray) -> dict[str, Any]:
        """Extra JSON-able facts about a found candidate's run of its task."""
        return {}

    # -------------------------------------------------- the task space
    def _set_tasks(self, tasks: list[tuple[Any, int]]) -> None:
        self._tasks = sorted(tasks, key=lambda tb: (tb[1], tb[0]))
        self._bits = [b for _, b in self._tasks]

    def tasks(self, max_bits: int) -> list[tuple[Any, int]]:
        import bisect

        return self._tasks[:bisect.bisect_right(self._bits, max_bits)]

    @property
    def n_tasks(self) -> int:
        return len(self._tasks)

    # -------------------------------------------------- runs
    def _solves(self, task: Any, state: np.ndarray, fovea: np.ndarray | None) -> bool:
        _, _, _, unit, ty, tx, _ = self._row(task)
        if unit >= 0 and state[unit] == 0.0:
            return False
        return ty < 0 or (fovea is not None and int(fovea[0]) == ty and int(fovea[1]) == tx)

    def _run_net(self, net: SlimNet, tasks: Sequence[Any], max_steps: int | None = None
                 ) -> list[tuple[bool, bool, int, np.ndarray, np.ndarray]]:
        """(solved, halted, steps, used (n, n), considered (n,)) of each task on ``net``, each run
        for at most ``max_steps`` (default: ``task_steps``) steps."""
        b = self._batch(net, tasks, self.task_steps if max_steps is None else max_steps)
        out = []
        for k, task in enumerate(tasks):
            fov = None if b.fovea is None else b.fovea[k]
            ok = bool(b.halted[k]) and self._solves(task, b.states[k], fov)
            out.append((ok, bool(b.halted[k]), int(b.steps[k]), b.used[k], b.considered[k]))
        return out

    def _current(self, tasks: Sequence[Any]) -> list[_Current]:
        todo = [t for t in dict.fromkeys(tasks) if t not in self._memo]
        if todo:
            for t, (ok, _, steps, used, cons) in zip(todo, self._run_net(self.net, todo),
                                                     strict=True):
                self._memo[t] = _Current(ok, steps, cons.copy(), int(used.sum()))
        return [self._memo[t] for t in tasks]

    def run(self, task: Any, candidate: Candidate | None, trace: bool,
            max_steps: int | None = None) -> Outcome:
        """The current net (``candidate`` None) or the candidate's on ``task``, for at most
        ``max_steps`` steps (below ``task_steps``: a run that has not halted by then is
        ``timed_out``, undecided)."""
        limit = self.task_steps if max_steps is None else max(0, min(self.task_steps, max_steps))
        net = self.net
        if candidate is not None:
            net = self._scratch
            net.W[...] = candidate.info["_W"]
        ok, halted, steps, used, cons = self._run_net(net, [task], limit)[0]
        timed_out = not halted and limit < self.task_steps
        if candidate is None and not timed_out:
            self._memo[task] = _Current(ok, steps, cons.copy(), int(used.sum()))
        if not trace:
            return Outcome(ok, steps, timed_out=timed_out)
        n = self.net.n
        ids = [int(c) for c in np.flatnonzero(used.ravel())]
        ids += [n * n + int(j) for j in np.flatnonzero(cons)]
        return Outcome(ok, steps, frozenset(ids), timed_out)

    def compression_cost(self, used: Sequence[frozenset[int]],
                         steps: Sequence[int]) -> tuple[int, ...]:
        """What a compression must lower: (used connections, steps), summed over the tasks."""
        nn = self.net.n * self.net.n
        return (sum(sum(1 for c in u if c < nn) for u in used), sum(steps))

    # -------------------------------------------------- the search
    def _rep_arrays(self, repertoire: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        c = self._rep_cache
        if c is not None and c[0] == len(repertoire):
            return c[1], c[2]
        cur = self._current(repertoire)
        n = self.net.n
        rep = np.zeros((len(repertoire), 9), dtype=np.int64)
        cons = np.zeros((len(repertoire), n), dtype=np.bool_)
        for i, (t, r) in enumerate(zip(repertoire, cur, strict=True)):
            if not r.solved:
                raise AssertionError(f"repertoire task {t} is not solved by the current net")
            rep[i, :7] = self._row(t)
            rep[i, 7], rep[i, 8] = r.connections, r.steps
            cons[i] = r.considered
        self._rep_cache = (len(repertoire), rep, cons)
        return rep, cons

    def _order(self, key: str, which: str, N: int) -> tuple[int, int]:
        """A seeded affine permutation ``p -> (a p + b) mod N`` (``gcd(a, N) = 1``)."""
        h = hashlib.sha256(f"{self.salt}:{key}:{which}".encode()).digest()
        a = int.from_bytes(h[:8], "little") % N
        b = int.from_bytes(h[8:16], "little") % N
        if N == 1:
            return 1, 0
        a = max(a, 1)
        while math.gcd(a, N) != 1:
            a = a + 1 if a + 1 < N else 1
        return a, b

    def search(self, task: Any | None, share: int, repertoire: Sequence[Any],
               cap: int) -> tuple[Candidate | None, int]:
        key = "compress" if task is None else task.text()
        if key in self._exhausted:
            return None, 0
        rep, r_cons = self._rep_arrays(repertoire)
        if task is None:
            if not len(repertoire):
                return None, 0
            src_ok: np.ndarray = np.asarray(r_cons.any(axis=0))
            new = np.array([-1, 0, 0, -1, -1, -1, 0], dtype=np.int64)
        else:
            cur = self._current([task])[0]
            src_ok = cur.considered
            new = np.array(self._row(task), dtype=np.int64)
        is_rel = src_ok[self.src]
        rel = np.flatnonzero(is_rel).astype(np.int64)
        nV = len(self.values)
        out = np.zeros(7, dtype=np.int64)
        spent = 0
        complete = True
        for k in range(1, self.max_changes + 1):
            budget = share // self.denom[k]
            if budget < 1:
                complete = False
                break
            if not len(rel):
                continue
            a1, b1 = self._order(key, f"{k}a", len(rel) * nV)
            a2, b2 = self._order(key, f"{k}b", self.n_conn * nV)
            _levin(self.net.W, self.net.group, self.net.theta, self.net.inputs, self.net.halt,
                   self.clamps, self.images, self.rx, self.mdy, self.mdx, self.task_steps, new,
                   rep, r_cons, self.src, self.dst, self.values, rel, is_rel, k, budget, a1, b1,
                   a2, b2,
                   *self._scratch_arrays, out)
            spent += int(out[1])
            if out[2]:
                complete = False
            if out[0]:
                return self._candidate(task, share, k, budget, out, spent), spent
        if complete:
            self._exhausted.add(key)
        return None, spent

    def _candidate(self, task: Any | None, share: int, k: int, budget: int, out: np.ndarray,
                   spent: int) -> Candidate:
        n = self.net.n
        W = self.net.W.copy()
        changes: list[list[float]] = []
        changed: set[int] = set()
        for c, v in ((int(out[3]), int(out[4])), (int(out[5]), int(out[6]))):
            if c < 0:
                continue
            j, i = int(self.src[c]), int(self.dst[c])
            changes.append([j, i, float(W[j, i]), float(self.values[v])])
            W[j, i] = self.values[v]
            changed |= {j * n + i, n * n + j}
        info: dict[str, Any] = {"_W": W, "changes": changes, "k": k, "T": share,
                                "budget": budget, "log2_P": round(self.log2_p[k], 3)}
        if task is not None:
            self._scratch.W[...] = W
            _, _, steps, used, _ = self._run_net(self._scratch, [task])[0]
            old = self.net.W != 0.0
            for ch in changes:
                old[int(ch[0]), int(ch[1])] = False
            info.update(connections_used=int(used.sum()),
                        old_connections_used=int((used & old).sum()), steps=steps,
                        **self._info(task, W))
        return Candidate(frozenset(changed), spent, "weights", info)

    def accept(self, candidate: Candidate) -> None:
        self.net.W[...] = candidate.info.pop("_W")
        self._memo.clear()
        self._rep_cache = None
        self._exhausted.clear()

    def discard(self, candidate: Candidate) -> None:
        candidate.info.pop("_W", None)

    # -------------------------------------------------- data
    def connections(self) -> int:
        """Non-zero connections of the net (into non-input units)."""
        return int((self.net.W[:, self.net.group >= 0] != 0.0).sum())

    def export(self) -> dict[str, np.ndarray]:
        """Everything :func:`reference_failures` needs to re-run tasks, as arrays."""
        net = self.net
        assert net.theta is not None
        return {"W": net.W.copy(), "group": net.group.copy(), "inputs": net.inputs.copy(),
                "halt": np.array([net.halt]), "theta": net.theta.copy(),
                "images": self.images.copy(), "rx": np.array([self.rx]),
                "clamped": net.clamped.copy(), "clamps": self.clamps.copy(),
                "mdy": self.mdy.copy(), "mdx": self.mdx.copy(),
                "task_steps": np.array([self.task_steps])}

    def state_dict(self) -> dict[str, Any]:
        return {"W": self.net.W.copy(), "salt": str(self.salt),
                "rng": self.rng.bit_generator.state, "exhausted": sorted(self._exhausted),
                "task_steps": self.task_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        W = np.asarray(state["W"], dtype=np.float64)
        if W.shape != self.net.W.shape:
            raise ValueError(f"checkpoint net has shape {W.shape}, this domain "
                             f"{self.net.W.shape}")
        self.net.W[...] = W
        self.salt = int(state["salt"])
        restore_generator(self.rng, state["rng"])
        self._exhausted = {str(k) for k in state["exhausted"]}
        self.task_steps = int(state["task_steps"])
        self._memo.clear()
        self._rep_cache = None


class PatternDomain(SlimDomain):
    """Pattern-recognition tasks (see the module docstring)."""

    kind = "patterns"

    def __init__(self, n_in: int = 6, classes: int = 4, hidden: tuple[int, ...] = (4, 4),
                 task_steps: int = 6, theta: float = 0.0,
                 values: tuple[float, ...] = DEFAULT_VALUES, seed: int = 0,
                 max_changes: int = MAX_CHANGES) -> None:
        if not 1 <= n_in <= 16 or classes < 2:
            raise ValueError("need 1 <= n_in <= 16 and classes >= 2")
        super().__init__(NetShape(n_in, classes, tuple(hidden), theta, tuple(values)),
                         task_steps, seed, max_changes)
        self.classes = classes
        pats = [tuple((p >> (n_in - 1 - b)) & 1 for b in range(n_in))
                for p in range(1, 1 << n_in)]
        pats.sort(key=lambda p: (sum(p), p))
        self.patterns = pats
        self._pid = {p: i for i, p in enumerate(pats)}
        self.images = np.array(pats, dtype=np.float64).reshape(len(pats), 1, n_in)
        self.rx = n_in
        self.clamps = np.zeros((1, self.net.n))
        self.mdy = np.zeros(self.net.n, dtype=np.int64)
        self.mdx = np.zeros(self.net.n, dtype=np.int64)
        self._set_tasks([(PatternTask(p, c), self.bits_of(p)) for p in pats
                         for c in range(classes)])

    def bits_of(self, pattern: tuple[int, ...]) -> int:
        ones = sum(pattern)
        return (1 + gamma_bits(ones) + _ceil_log2(math.comb(len(pattern), ones))
                + _ceil_log2(self.classes))

    def _row(self, task: PatternTask) -> tuple[int, int, int, int, int, int, int]:
        return (self._pid[task.pattern], 0, 0, self.shape.first_output + task.label, -1, -1, 0)

    def task_from_json(self, data: Any) -> PatternTask:
        return PatternTask.from_json(data)

    def _batch(self, net: SlimNet, tasks: Sequence[PatternTask], max_steps: int) -> Any:
        xs = np.array([t.pattern for t in tasks], dtype=np.float64).reshape(len(tasks), -1)
        return run_batch(net, xs, max_steps)


def grey_image(size: int) -> np.ndarray:
    """scikit-learn's ``china.jpg`` in grey, centre-cropped square, averaged to ``size x size``
    pixels and binarised by local contrast: 1 where a pixel is brighter than the mean of its 3x3
    neighbourhood (edges replicated), else 0; float64."""
    from sklearn.datasets import load_sample_image

    rgb = load_sample_image("china.jpg").astype(np.float64)
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    side = min(grey.shape) // size * size
    y0, x0 = (grey.shape[0] - side) // 2, (grey.shape[1] - side) // 2
    crop = grey[y0:y0 + side, x0:x0 + side]
    f = side // size
    small = crop.reshape(size, f, size, f).mean(axis=(1, 3))
    pad = np.pad(small, 1, mode="edge")
    local = sum(pad[dy:dy + size, dx:dx + size] for dy in range(3) for dx in range(3)) / 9.0
    return (small > local).astype(np.float64)


class FoveaDomain(SlimDomain):
    """Fovea tasks (see the module docstring): windows of a ``grid x grid`` lattice."""

    kind = "fovea"
    UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3

    def __init__(self, retina: tuple[int, int] = (3, 3), grid: int = 8,
                 hidden: tuple[int, ...] = (4, 4), task_steps: int = 12,
                 max_move: int = 7, theta: float = 0.0,
                 values: tuple[float, ...] = DEFAULT_VALUES, seed: int = 0,
                 max_changes: int = MAX_CHANGES, image: np.ndarray | None = None,
                 commands: int = 0) -> None:
        ry, rx = int(retina[0]), int(retina[1])
        if ry < 1 or rx < 1 or grid < 2 or max_move < 0:
            raise ValueError("need a positive retina, grid >= 2 and max_move >= 0")
        super().__init__(NetShape(ry * rx, 4, tuple(hidden), theta, tuple(values), commands),
                         task_steps, seed, max_changes)
        self.commands = commands
        n_cmd = 1 << commands
        self.clamps = np.zeros((n_cmd, self.net.n))
        for c in range(n_cmd):
            for b, unit in enumerate(self.net.clamped):
                self.clamps[c, unit] = float((c >> b) & 1)
        self.retina, self.grid, self.max_move = (ry, rx), grid, max_move
        img = grey_image(grid * ry) if image is None else np.asarray(image, dtype=np.float64)
        if img.shape[0] < grid * ry or img.shape[1] < grid * rx:
            raise ValueError(f"the image must have at least {grid * ry}x{grid * rx} pixels")
        img = np.ascontiguousarray(img[:grid * ry, :grid * rx])
        self.images = img.reshape(1, *img.shape)
        self.rx = rx
        m0 = self.shape.first_output
        self.motors = (m0 + self.UP, m0 + self.DOWN, m0 + self.LEFT, m0 + self.RIGHT)
        self.moves = ((-ry, 0), (ry, 0), (0, -rx), (0, rx))
        self.mdy = np.zeros(self.net.n, dtype=np.int64)
        self.mdx = np.zeros(self.net.n, dtype=np.int64)
        for u, (dy, dx) in zip(self.motors, self.moves, strict=True):
            self.mdy[u], self.mdx[u] = dy, dx
        self.starts = [(r, c) for r in range(grid) for c in range(grid)
                       if img[r * ry:(r + 1) * ry, c * rx:(c + 1) * rx].any()]
        if not self.starts:
            raise ValueError("every retina window of the image is blank")
        start_bits = 1 + _ceil_log2(len(self.starts))
        tasks = []
        for c in range(n_cmd):
            # the command: none (1 bit), or one of the 2^commands - 1 others
            c_bits = 0 if not commands else 1 + (_ceil_log2(n_cmd - 1) if c else 0)
            for s in self.starts:
                for dy in range(-max_move, max_move + 1):
                    for dx in range(-max_move, max_move + 1):
                        t = (s[0] + dy, s[1] + dx)
                        if 0 <= t[0] < grid and 0 <= t[1] < grid:
                            tasks.append((FoveaTask(s, t, c), start_bits + c_bits
                                          + _move_bits(dy) + _move_bits(dx)))
        self._set_tasks(tasks)

    def _px(self, cell: tuple[int, int]) -> tuple[int, int]:
        return cell[0] * self.retina[0], cell[1] * self.retina[1]

    def _row(self, task: FoveaTask) -> tuple[int, int, int, int, int, int, int]:
        y, x = self._px(task.start)
        ty, tx = self._px(task.target)
        return (0, y, x, -1, ty, tx, task.command)

    def _command(self, task: FoveaTask) -> np.ndarray:
        return self.clamps[task.command, self.net.clamped]

    def task_from_json(self, data: Any) -> FoveaTask:
        return FoveaTask.from_json(data)

    def _fovea(self) -> Fovea:
        return Fovea(self.retina, self.motors, self.moves)

    def _batch(self, net: SlimNet, tasks: Sequence[FoveaTask], max_steps: int) -> Any:
        starts = np.array([self._px(t.start) for t in tasks], dtype=np.int64).reshape(-1, 2)
        cmds = np.array([self._command(t) for t in tasks]).reshape(len(tasks), -1)
        return run_fovea_batch(net, self._fovea(), self.images[0], starts, max_steps,
                               cmds if len(tasks) > 1 else cmds.reshape(-1))

    def trajectory(self, task: FoveaTask, W: np.ndarray | None = None) -> list[tuple[int, int]]:
        """The windows visited from ``task.start`` (one per step, the start first) by the net
        with weights ``W`` (default: the current net), until it halts or the step limit."""
        net = self.net if W is None else self._scratch
        if W is not None:
            net.W[...] = W
        fov = self._fovea()
        start = np.array([self._px(task.start)], dtype=np.int64)
        cmd = self._command(task)
        steps = int(run_fovea_batch(net, fov, self.images[0], start, self.task_steps,
                                    cmd).steps[0])
        path = [task.start]
        for t in range(1, steps + 1):
            b = run_fovea_batch(net, fov, self.images[0], start, t, cmd)
            assert b.fovea is not None
            path.append((int(b.fovea[0, 0]) // self.retina[0],
                         int(b.fovea[0, 1]) // self.retina[1]))
        return path

    def _info(self, task: FoveaTask, W: np.ndarray) -> dict[str, Any]:
        path = self.trajectory(task, W)
        return {"moves": [[b[0] - a[0], b[1] - a[1]] for a, b in itertools.pairwise(path)]}


def _move_bits(d: int) -> int:
    return gamma_bits(abs(d) + 1) + (1 if d else 0)


# ---------------------------------------------------------------------------- verification
def reference_failures(arrays: dict[str, Any], tasks: Sequence[dict[str, Any]]) -> int:
    """How many of ``tasks`` (JSON, pattern or fovea) the saved net ``arrays``
    (:meth:`SlimDomain.export`) fails, run by the pure-Python reference
    (:class:`metahook.machines.slim.reference.ReferenceSlim`)."""
    W = np.asarray(arrays["W"], dtype=np.float64)
    halt = int(np.asarray(arrays["halt"]).reshape(-1)[0])
    inputs = [int(i) for i in np.asarray(arrays["inputs"]).reshape(-1)]
    clamped = [int(i) for i in np.asarray(arrays.get("clamped", [])).reshape(-1)]
    clamps = np.asarray(arrays.get("clamps", np.zeros((1, len(W)))), dtype=np.float64)
    ref = ReferenceSlim(W.tolist(), [int(g) for g in arrays["group"]], inputs, halt,
                        [float(t) for t in arrays["theta"]], clamped)
    images = np.asarray(arrays["images"], dtype=np.float64)
    rx = int(np.asarray(arrays["rx"]).reshape(-1)[0])
    steps = int(np.asarray(arrays["task_steps"]).reshape(-1)[0])
    mdy, mdx = np.asarray(arrays["mdy"]), np.asarray(arrays["mdx"])
    moves = {int(u): (int(mdy[u]), int(mdx[u])) for u in range(len(mdy))
             if mdy[u] or mdx[u]}
    ry = len(inputs) // rx
    n_out_first = halt + 1
    failed = 0
    for t in tasks:
        if "pattern" in t:
            r = ref.run_pattern([float(b) for b in t["pattern"]], steps)
            ok = r.halted and r.state[n_out_first + int(t["label"])] != 0.0
        else:
            image = images[0].tolist()
            start = (int(t["start"][0]) * ry, int(t["start"][1]) * rx)
            cmd = clamps[int(t.get("command", 0))][clamped].tolist()
            r = ref.run(image, (ry, rx), start, moves, steps, cmd)
            ok = r.halted and r.fovea == (int(t["target"][0]) * ry, int(t["target"][1]) * rx)
        failed += not ok
    return failed


__all__ = ["DEFAULT_VALUES", "MAX_CHANGES", "FoveaDomain", "FoveaTask", "NetShape",
           "PatternDomain", "PatternTask", "SlimDomain", "grey_image", "reference_failures"]
