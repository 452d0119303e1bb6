"""The SLIM net as data, and the entry points that run it (single task, batch, fovea).

:class:`SlimNet` holds the net (weights, WTA groups, thresholds, input units, halt unit) and checks
it once; PowerPlay may then change ``net.W`` in place between runs (the entry points re-check that
the weights are finite). :func:`run` / :func:`run_batch` run pattern tasks, :func:`run_fovea` /
:func:`run_fovea_batch` the fovea variant; all of them call the numba kernels of
:mod:`metahook.machines.slim.kernel` and return :class:`Run` / :class:`Batch` records holding, per
task, whether it halted, the steps used, the final activations, the used connections and the units
whose outgoing connections were read (``considered``). :meth:`SlimNet.affected_tasks` turns the
latter into the set of tasks a weight change can affect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.machines.slim.kernel import slim_run, slim_run_batch

__all__ = ["Batch", "Fovea", "Run", "SlimNet", "run", "run_batch", "run_fovea", "run_fovea_batch"]


def _int_array(value: Any, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D integer array, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _real_array(value: Any, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape,
                                                                             strict=True)):
        want = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if arr.size and not (np.issubdtype(arr.dtype, np.integer)
                         or np.issubdtype(arr.dtype, np.floating)
                         or np.issubdtype(arr.dtype, np.bool_)):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _index(value: Any, name: str) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _max_steps(value: Any) -> int:
    steps = _index(value, "max_steps")
    if steps < 0:
        raise ValueError(f"max_steps must be >= 0, got {steps}")
    return steps


@dataclass
class SlimNet:
    """A SLIM net: ``n`` units, weights ``W[src, dst]``, WTA groups, thresholds, inputs, halt unit.

    ``group[i]`` is unit ``i``'s WTA group (``>= 0``), or ``-1`` exactly for the input units;
    ``inputs`` lists the input units in the order they read the pattern (or the retina, row-major).
    ``theta[i]`` is unit ``i``'s threshold (default 0): a reached unit is a candidate when its net
    input exceeds it. ``clamped`` lists further input units that read no pattern or retina: each
    run sets them once, at time 0, to its ``commands`` (default 0) and they keep that value (a
    task's command). A zero weight is an absent connection. Connections into input units are
    ignored (never used). ``W`` is float64 and C-contiguous after construction; change it in place
    (``net.W[j, i] = v``) to modify the program.
    """

    W: np.ndarray
    group: np.ndarray
    inputs: np.ndarray
    halt: int
    theta: np.ndarray | None = None
    clamped: Any = ()

    def __post_init__(self) -> None:
        W = np.asarray(self.W)
        if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 1:
            raise ValueError(f"W must be a square (n, n) matrix with n >= 1, got shape {W.shape}")
        n = W.shape[0]
        self.W = _real_array(W, "W", (n, n))
        self.group = _int_array(self.group, "group", 1)
        if self.group.shape != (n,):
            raise ValueError(f"group must have shape ({n},), got {self.group.shape}")
        self.inputs = _int_array(self.inputs, "inputs", 1)
        if self.inputs.size and (self.inputs.min() < 0 or self.inputs.max() >= n):
            raise ValueError(f"inputs must be unit indices in [0, {n})")
        if np.unique(self.inputs).size != self.inputs.size:
            raise ValueError("inputs must not repeat a unit")
        self.clamped = _int_array(np.asarray(self.clamped, dtype=np.int64).reshape(-1),
                                  "clamped", 1)
        if self.clamped.size and (self.clamped.min() < 0 or self.clamped.max() >= n):
            raise ValueError(f"clamped must be unit indices in [0, {n})")
        is_input = np.zeros(n, dtype=bool)
        is_input[self.inputs] = True
        if is_input[self.clamped].any() or np.unique(self.clamped).size != self.clamped.size:
            raise ValueError("clamped units must not repeat or be retina/pattern inputs")
        is_input[self.clamped] = True
        if (self.group[is_input] != -1).any() or (self.group[~is_input] < 0).any():
            raise ValueError("group must be -1 exactly for the input and clamped units and >= 0 "
                             "for the others")
        self.halt = _index(self.halt, "halt")
        if not 0 <= self.halt < n or is_input[self.halt]:
            raise ValueError(f"halt must be a non-input unit in [0, {n}), got {self.halt}")
        if self.theta is None:
            self.theta = np.zeros(n)
        self.theta = _real_array(self.theta, "theta", (n,))

    # ------------------------------------------------------------------ shape
    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.W.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.inputs.size)

    @property
    def n_groups(self) -> int:
        """``1 + `` the largest group id."""
        return int(self.group.max()) + 1

    @classmethod
    def zeros(cls, n_inputs: int, group_sizes: Sequence[int], theta: float = 0.0,
              n_clamped: int = 0) -> SlimNet:
        """A net without connections: inputs ``0 .. n_inputs - 1``, then the halt unit alone in
        group 0, then group ``g = 1, 2, ...`` of ``group_sizes[g - 1]`` units, in unit order, then
        ``n_clamped`` clamped input units (last, so the other units keep their indices)."""
        if n_inputs < 0 or n_clamped < 0 or any(s < 1 for s in group_sizes):
            raise ValueError("n_inputs and n_clamped must be >= 0 and every group size >= 1")
        group = [-1] * n_inputs + [0]
        for g, size in enumerate(group_sizes, start=1):
            group += [g] * size
        first = len(group)
        group += [-1] * n_clamped
        n = len(group)
        return cls(np.zeros((n, n)), np.array(group), np.arange(n_inputs), n_inputs,
                   np.full(n, float(theta)), np.arange(first, n))

    def units_of(self, g: int) -> np.ndarray:
        """The units of group ``g``, in index order."""
        return np.flatnonzero(self.group == g)

    def winners(self, state: np.ndarray) -> np.ndarray:
        """For each group, its active unit in ``state`` (an activation vector), or -1."""
        out = np.full(self.n_groups, -1, dtype=np.int64)
        active = np.flatnonzero((np.asarray(state) != 0) & (self.group >= 0))
        out[self.group[active]] = active
        return out

    def affected_tasks(self, considered: np.ndarray,
                       edges: Iterable[tuple[int, int]]) -> np.ndarray:
        """Indices of the tasks whose runs a change of the weights on ``edges`` can alter.

        ``considered`` is a batch's ``(n_tasks, n)`` array. A changed connection ``src -> dst``
        matters to a task only if ``src`` was active during that task's run (before it ended) and
        ``dst`` is not an input unit. For an existing (non-zero) connection this is the same as
        "the task used it"; for a new one (a zero weight made non-zero) it also catches tasks that
        never used it, which a used-connections list alone would miss.
        """
        considered = np.asarray(considered, dtype=bool)
        if considered.ndim != 2 or considered.shape[1] != self.n:
            raise ValueError(f"considered must have shape (n_tasks, {self.n}), got "
                             f"{considered.shape}")
        hit = np.zeros(considered.shape[0], dtype=bool)
        for src, dst in edges:
            if not (0 <= src < self.n and 0 <= dst < self.n):
                raise ValueError(f"edge ({src}, {dst}) is not a pair of units in [0, {self.n})")
            if self.group[dst] >= 0:
                hit |= considered[:, src]
        return np.flatnonzero(hit)

    # ------------------------------------------------------------------ state
    def copy(self) -> SlimNet:
        return SlimNet(self.W.copy(), self.group.copy(), self.inputs.copy(), self.halt,
                       None if self.theta is None else self.theta.copy(), self.clamped.copy())

    def state_dict(self) -> dict[str, Any]:
        assert self.theta is not None
        return {"W": self.W.copy(), "group": self.group.copy(), "inputs": self.inputs.copy(),
                "halt": self.halt, "theta": self.theta.copy(), "clamped": self.clamped.copy()}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> SlimNet:
        return cls(np.array(state["W"]), np.array(state["group"]), np.array(state["inputs"]),
                   int(state["halt"]), np.array(state["theta"]),
                   np.array(state.get("clamped", []), dtype=np.int64))

    def clamp_rows(self, commands: Any, n_tasks: int) -> tuple[np.ndarray, np.ndarray]:
        """The kernels' ``(clamps, clamp_of)`` for ``commands``: ``None`` (all 0), one row of
        ``len(clamped)`` values for every task, or an ``(n_tasks, len(clamped))`` array."""
        n, c = self.n, self.clamped.size
        if commands is None:
            return np.zeros((1, n)), np.zeros(n_tasks, dtype=np.int64)
        cmd = _real_array(commands, "commands", (None, c) if np.ndim(commands) == 2 else (c,))
        if c == 0:
            return np.zeros((1, n)), np.zeros(n_tasks, dtype=np.int64)
        rows = cmd.reshape(-1, c)
        if rows.shape[0] not in (1, n_tasks):
            raise ValueError(f"commands must have one row or one per task ({n_tasks}), got "
                             f"{rows.shape[0]}")
        clamps = np.zeros((rows.shape[0], n))
        clamps[:, self.clamped] = rows
        of = (np.zeros(n_tasks, dtype=np.int64) if rows.shape[0] == 1
              else np.arange(n_tasks, dtype=np.int64))
        return clamps, of

    def _checked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The arrays the kernels read, re-checked cheaply (``W`` may have been edited)."""
        n = self.n
        if (self.W.shape != (n, n) or self.W.dtype != np.float64
                or not self.W.flags.c_contiguous):
            raise ValueError("net.W was replaced by an array that is not float64 (n, n) "
                             "C-contiguous; assign into it instead (net.W[j, i] = v)")
        if not np.isfinite(self.W).all():
            raise ValueError("net.W must be finite (no NaN or inf)")
        assert self.theta is not None
        return self.W, self.group, self.theta, self.inputs


@dataclass(frozen=True)
class Fovea:
    """The fovea variant: a ``retina = (ry, rx)`` window over a grey image, moved by motor units.

    ``motor_units[k]`` moves the window by ``moves[k] = (dy, dx)`` pixels in each step in which it
    is active (the moves of all active motor units add up); the window is clamped to the image.
    The net's input units read the window row-major, so ``ry * rx`` must equal ``net.n_inputs``.
    """

    retina: tuple[int, int]
    motor_units: tuple[int, ...]
    moves: tuple[tuple[int, int], ...]

    @classmethod
    def compass(cls, retina: tuple[int, int], up: int, down: int, left: int, right: int,
                step: int = 1) -> Fovea:
        """Four motor units moving the fovea ``step`` pixels up, down, left and right."""
        return cls(retina, (up, down, left, right),
                   ((-step, 0), (step, 0), (0, -step), (0, step)))

    def _arrays(self, net: SlimNet) -> tuple[int, int, np.ndarray, np.ndarray]:
        if len(self.retina) != 2:
            raise ValueError(f"retina must be (height, width), got {self.retina!r}")
        ry, rx = (_index(v, "retina size") for v in self.retina)
        if ry < 1 or rx < 1 or ry * rx != net.n_inputs:
            raise ValueError(f"retina {ry}x{rx} must be positive and have net.n_inputs = "
                             f"{net.n_inputs} cells")
        units = _int_array(np.asarray(self.motor_units, dtype=np.int64).reshape(-1),
                           "motor_units", 1)
        moves = _int_array(np.asarray(self.moves, dtype=np.int64).reshape(-1, 2), "moves", 2)
        if moves.shape != (units.size, 2):
            raise ValueError(f"moves must hold one (dy, dx) per motor unit: {units.size} units, "
                             f"{moves.shape[0]} moves")
        if units.size and (units.min() < 0 or units.max() >= net.n
                           or (net.group[units] < 0).any()):
            raise ValueError(f"motor_units must be non-input units in [0, {net.n})")
        if np.unique(units).size != units.size:
            raise ValueError("motor_units must not repeat a unit")
        dy = np.zeros(net.n, dtype=np.int64)
        dx = np.zeros(net.n, dtype=np.int64)
        dy[units] = moves[:, 0]
        dx[units] = moves[:, 1]
        return ry, rx, dy, dx


@dataclass(frozen=True)
class Run:
    """One run: ``halted`` (the halt unit fired within ``max_steps``), ``steps`` used, ``state``
    (every unit's activation at the end), ``used`` (``(n, n)`` bool: connection ``src -> dst``
    carried activation at least once), ``considered`` (``(n,)`` bool: the unit was active in some
    step before the end, so its outgoing connections were read) and ``fovea`` (final ``(y, x)``
    of the retina's top-left pixel; ``None`` for pattern runs)."""

    halted: bool
    steps: int
    state: np.ndarray
    used: np.ndarray
    considered: np.ndarray
    fovea: tuple[int, int] | None = None

    def used_edges(self) -> np.ndarray:
        """The used connections as a ``(k, 2)`` array of ``(src, dst)`` rows, sorted."""
        return np.argwhere(self.used)


@dataclass(frozen=True)
class Batch:
    """Many runs of one net: the fields of :class:`Run` stacked along a first ``n_tasks`` axis
    (``fovea`` is ``(n_tasks, 2)``, or ``None`` for pattern runs)."""

    halted: np.ndarray
    steps: np.ndarray
    states: np.ndarray
    used: np.ndarray
    considered: np.ndarray
    fovea: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.halted.shape[0])

    def __getitem__(self, k: int) -> Run:
        pos = None if self.fovea is None else (int(self.fovea[k, 0]), int(self.fovea[k, 1]))
        return Run(bool(self.halted[k]), int(self.steps[k]), self.states[k], self.used[k],
                   self.considered[k], pos)


def _batch(net: SlimNet, images: np.ndarray, image_of: np.ndarray, rx: int, starts: np.ndarray,
           dy: np.ndarray, dx: np.ndarray, max_steps: int, commands: Any = None) -> Batch:
    W, group, theta, inputs = net._checked()
    n, n_tasks = net.n, image_of.shape[0]
    clamps, clamp_of = net.clamp_rows(commands, n_tasks)
    halted = np.zeros(n_tasks, dtype=np.bool_)
    steps = np.zeros(n_tasks, dtype=np.int64)
    states = np.zeros((n_tasks, n))
    used = np.zeros((n_tasks, n, n), dtype=np.bool_)
    considered = np.zeros((n_tasks, n), dtype=np.bool_)
    final = np.zeros((n_tasks, 2), dtype=np.int64)
    slim_run_batch(W, group, theta, inputs, net.halt, clamps, clamp_of, images, image_of, rx,
                   starts, dy, dx,
                   max_steps, np.zeros(n), np.zeros(n, dtype=np.bool_),
                   np.zeros(n, dtype=np.int64), np.full(net.n_groups, -1, dtype=np.int64),
                   halted, steps, states, used, considered, final)
    return Batch(halted, steps, states, used, considered, final)


def _one(net: SlimNet, image: np.ndarray, rx: int, start: tuple[int, int], dy: np.ndarray,
         dx: np.ndarray, max_steps: int, command: Any = None) -> Run:
    W, group, theta, inputs = net._checked()
    n = net.n
    clamps, _ = net.clamp_rows(command, 1)
    state = np.zeros(n)
    used = np.zeros((n, n), dtype=np.bool_)
    considered = np.zeros(n, dtype=np.bool_)
    pos = np.zeros(2, dtype=np.int64)
    halted, steps = slim_run(W, group, theta, inputs, net.halt, clamps[0], image, rx, start[0],
                             start[1],
                             dy, dx, max_steps, state, np.zeros(n), np.zeros(n, dtype=np.bool_),
                             np.zeros(n, dtype=np.int64),
                             np.full(net.n_groups, -1, dtype=np.int64), used, considered, pos)
    return Run(bool(halted), int(steps), state, used, considered, (int(pos[0]), int(pos[1])))


def _no_motors(net: SlimNet) -> np.ndarray:
    return np.zeros(net.n, dtype=np.int64)


def run(net: SlimNet, pattern: Any, max_steps: int, command: Any = None) -> Run:
    """Run ``net`` on one input ``pattern`` (``n_inputs`` reals, clamped on the input units for
    the whole run) for at most ``max_steps`` steps; ``command``: the clamped units' values."""
    max_steps = _max_steps(max_steps)
    x = _real_array(pattern, "pattern", (net.n_inputs,))
    r = _one(net, x.reshape(1, -1), max(net.n_inputs, 1), (0, 0), _no_motors(net),
             _no_motors(net), max_steps, command)
    return Run(r.halted, r.steps, r.state, r.used, r.considered, None)


def run_batch(net: SlimNet, patterns: Any, max_steps: int, commands: Any = None) -> Batch:
    """:func:`run` for each row of ``patterns`` (``(n_tasks, n_inputs)``), in one compiled loop;
    ``commands``: see :meth:`SlimNet.clamp_rows`."""
    max_steps = _max_steps(max_steps)
    xs = _real_array(patterns, "patterns", (None, net.n_inputs))
    n_tasks = xs.shape[0]
    b = _batch(net, xs.reshape(n_tasks, 1, net.n_inputs), np.arange(n_tasks, dtype=np.int64),
               max(net.n_inputs, 1), np.zeros((n_tasks, 2), dtype=np.int64), _no_motors(net),
               _no_motors(net), max_steps, commands)
    return Batch(b.halted, b.steps, b.states, b.used, b.considered, None)


def _image_and_starts(fovea: Fovea, net: SlimNet, image: Any, starts: Any
                      ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    ry, rx, dy, dx = fovea._arrays(net)
    img = _real_array(image, "image", (None, None))
    if img.shape[0] < ry or img.shape[1] < rx:
        raise ValueError(f"image {img.shape} is smaller than the retina {ry}x{rx}")
    st = _int_array(starts, "starts", 2)
    if st.shape[1:] != (2,):
        raise ValueError(f"starts must have shape (n_tasks, 2), got {st.shape}")
    if st.size and ((st[:, 0] < 0).any() or (st[:, 0] > img.shape[0] - ry).any()
                    or (st[:, 1] < 0).any() or (st[:, 1] > img.shape[1] - rx).any()):
        raise ValueError(f"start positions must keep the {ry}x{rx} retina inside the "
                         f"{img.shape[0]}x{img.shape[1]} image")
    return img, st, rx, dy, dx


def run_fovea(net: SlimNet, fovea: Fovea, image: Any, start: tuple[int, int],
              max_steps: int, command: Any = None) -> Run:
    """Run ``net`` with its inputs on the retina of ``fovea`` over the grey ``image`` (2-D),
    the retina's top-left pixel starting at ``start = (y, x)``, for at most ``max_steps`` steps;
    ``command``: the clamped units' values (default 0)."""
    max_steps = _max_steps(max_steps)
    if np.asarray(start).shape != (2,):
        raise ValueError(f"start must be a (y, x) pair, got {start!r}")
    img, st, rx, dy, dx = _image_and_starts(fovea, net, image, np.asarray(start).reshape(1, 2))
    return _one(net, img, rx, (int(st[0, 0]), int(st[0, 1])), dy, dx, max_steps, command)


def run_fovea_batch(net: SlimNet, fovea: Fovea, image: Any, starts: Any,
                    max_steps: int, commands: Any = None) -> Batch:
    """:func:`run_fovea` from each start position (``(n_tasks, 2)``) over the same image;
    ``commands``: see :meth:`SlimNet.clamp_rows`."""
    max_steps = _max_steps(max_steps)
    img, st, rx, dy, dx = _image_and_starts(fovea, net, image, starts)
    return _batch(net, img.reshape(1, *img.shape), np.zeros(st.shape[0], dtype=np.int64), rx,
                  st, dy, dx, max_steps, commands)
