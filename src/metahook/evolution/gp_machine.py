"""The OOPS machine as a GP evaluator: object programs on fitness cases, operators on parents.

Meta-GP (:mod:`metahook.evolution.meta_gp`) evolves programs of the OOPS language
(:mod:`metahook.machines.forth`, extended token set 1..87) and lets programs of the same language
vary them. This module runs both on one tape of the machine through its own interpreter
(:func:`metahook.machines.forth.vm.step`), compiled with numba; nothing here is a second
interpreter. Every run is bounded in time steps (the machine's own counter, as in OOPS), starts
from a clean tape (the cells the last run changed are restored from the machine's undo stack,
as the search does on backtracking), and ends in one of:

* ``END``: the ip reached the end of the program (the normal finish);
* ``HALTED``: an instruction halted (its reason is the machine's halt code);
* ``BADIP``: the ip left the code or the tape, or points at a cell holding no token;
* ``TIME``: the next instruction would exceed the step limit.

An **object program** starts with the fitness case's inputs on ``ds[1..k]``; its output is the
top of ``ds`` at ``END``. An **operator program** starts with its parent on ``ds`` (a binary
operator: the first parent then the second, ``ds = p1 ++ p2``) and a stream of inputs on the
auxiliary stack ``Ds`` (top first: ``n1``, ``n2``, then records ``i j t L``, see
:func:`operator_stream`); its child is ``ds[1..dp]`` at ``END``. Programs are written at code
address 77, after the seven prewired declared programs, where OOPS writes its programs.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
from numba import njit

from metahook.envs.oops_tasks import GOAL_NONE, init_distribution, init_task
from metahook.machines.forth import instructions as ins
from metahook.machines.forth import vm
from metahook.machines.forth.cachecheck import fingerprint
from metahook.machines.forth.layout import ACP, ADDP, ADP, MAXDP, NSQ, ROW
from metahook.machines.forth.pointers import f64_ptr, i64_ptr

START = 77  # first code address after the prewired declared programs
END, HALTED, BADIP, TIME = 1, 2, 3, 4
STOP_NAMES = {END: "end", HALTED: "halted", BADIP: "bad-ip", TIME: "time"}
ROW1 = vm.TAPE0 + ROW  # flat index of address 0 of tape 1 (address a is at ROW1 - a)
_STACK = 2 * ROW  # undo stack: more entries than a tape has cells, so it never fills


def _fresh_cache() -> None:
    """numba's cache checks only this file, but the kernels inline the machine (vm.py): drop
    this module's cached kernels when the machine's sources changed since they were compiled."""
    folder = Path(__file__).with_name("__pycache__")
    stamp = folder / "metahook-gp-machine.sha256"
    fp = fingerprint()
    with contextlib.suppress(OSError):
        if stamp.read_text().strip() == fp:
            return
    with contextlib.suppress(OSError):
        for entry in folder.glob("gp_machine.*.nb[ic]"):
            entry.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fp + "\n")


_fresh_cache()


@njit(cache=True, forceinline=True)
def _restore(M):
    """Undo every tape cell the last run changed, from the machine's undo stack (as the search
    backtracks): the tape is clean again."""
    vm.restore_cells(M, 0)


@njit(cache=True, forceinline=True)
def _run(M, F, max_steps):
    """Run the program at START on tape 1 (already set up) until it stops; a stop code."""
    M[vm.R_TIME] = 0
    M[vm.R_HALT] = 0
    M[vm.R_WHY] = 0
    F[vm.F_TP] = float(max_steps)
    M[ROW1 - (ACP + 1)] = START
    while True:
        if vm.frame(M, 1) == M[vm.R_QP] + 1:
            return END
        if not vm.ip_ok(M):
            return BADIP
        if float(M[vm.R_TIME] + 1) > F[vm.F_TP]:
            return TIME
        vm.step(M, F)
        if M[vm.R_HALT] != 0:
            return HALTED


@njit(cache=True, forceinline=True)
def _load(M, code, lo, n):
    for k in range(n):
        M[vm.Q0 + START + k] = code[lo + k]
    M[vm.R_QP] = START + n - 1


@njit(cache=True)
def _eval_kernel(M_arr, F_arr, codes, offs, lens, inputs, max_steps, outs, stops, steps):
    M = i64_ptr(M_arr)
    F = f64_ptr(F_arr)
    n_in = inputs.shape[1]
    for p in range(lens.shape[0]):
        _load(M, codes, offs[p], lens[p])
        for c in range(inputs.shape[0]):
            vm.wr(M, ADP, n_in)
            for k in range(n_in):
                vm.wr(M, ADP + 1 + k, inputs[c, k])
            code = _run(M, F, max_steps)
            stops[p, c] = code
            steps[p, c] = M[vm.R_TIME]
            dp = M[ROW1 - ADP]
            if code == END and 1 <= dp <= MAXDP:
                outs[p, c] = M[ROW1 - (ADP + dp)]
            else:
                outs[p, c] = 0
            _restore(M)


@njit(cache=True)
def _op_kernel(M_arr, F_arr, op, ds0, Ds0, max_steps, child):
    """Run operator ``op`` with ``ds = ds0`` and ``Ds = Ds0`` (bottom first); the child is
    ``ds[1..dp]`` copied into ``child``. Returns (stop, halt reason, dp, steps)."""
    M = i64_ptr(M_arr)
    F = f64_ptr(F_arr)
    _load(M, op, 0, op.shape[0])
    vm.wr(M, ADP, ds0.shape[0])
    for k in range(ds0.shape[0]):
        vm.wr(M, ADP + 1 + k, ds0[k])
    vm.wr(M, ADDP, Ds0.shape[0])
    for k in range(Ds0.shape[0]):
        vm.wr(M, ADDP + 1 + k, Ds0[k])
    code = _run(M, F, max_steps)
    dp = M[ROW1 - ADP]
    if dp < 0 or dp > MAXDP:
        dp = 0
    for k in range(dp):
        child[k] = M[ROW1 - (ADP + 1 + k)]
    steps = M[vm.R_TIME]
    why = M[vm.R_WHY]
    _restore(M)
    return code, why, dp, steps


class GPMachine:
    """One machine (extended token set, one tape); the undo stack restores the tape after a run."""

    def __init__(self) -> None:
        self.M = np.zeros(vm.memory_size(_STACK), dtype=np.int64)
        self.F = np.zeros(vm.NF, dtype=np.float64)
        M = self.M
        M[vm.R_SCAP] = _STACK
        M[vm.R_NTAPES] = 1
        OLD = M[vm.OLD0: vm.OLD0 + 2 * 8].reshape(8, 2)
        qp = 0
        for k, d in enumerate(ins.DECLARED, start=1):
            OLD[k] = (qp + 1, len(d.body))
            for nm in d.body:
                qp += 1
                M[vm.Q0 + qp] = ins.number(nm)
        assert qp + 1 == START
        M[vm.R_QP] = qp
        M[vm.R_AFROZEN] = qp
        M[vm.R_ALAST] = qp + 1
        M[vm.R_OLDP] = len(ins.DECLARED)
        M[vm.R_NDECL] = len(ins.DECLARED)
        M[vm.R_NQS] = ins.N_EXTENDED
        M[vm.R_NSQS] = NSQ
        M[vm.R_UPSQ] = M[vm.R_NSQS]
        M[vm.R_PUSHEN] = 1  # every changed cell is recorded once and restored after the run
        M[vm.R_T] = 1 << 40
        M[vm.R_TASK] = 1
        M[vm.R_ROW] = ROW1
        self.F[vm.F_P] = 1.0
        tape = M[vm.TAPE0: vm.TAPE0 + 2 * ROW]
        init_task(tape, 1, GOAL_NONE)
        init_distribution(tape, 1, GOAL_NONE)
        tape[ROW - (ACP + 1)] = START
        self.clean = M[ROW1: ROW1 + ROW].copy()  # what every run starts from (tests check it)

    def evaluate(self, programs: list[np.ndarray], inputs: np.ndarray, max_steps: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run every program on every row of ``inputs``: (outputs, stop codes, steps), each of
        shape (programs, cases); an output is the top of ds at END, else 0."""
        n = len(programs)
        lens = np.array([len(p) for p in programs], dtype=np.int64)
        if n and (lens.min() < 1 or lens.max() > MAX_CODE):
            raise ValueError(f"program lengths must be in 1..{MAX_CODE}")
        offs = np.zeros(n, dtype=np.int64)
        if n > 1:
            offs[1:] = np.cumsum(lens)[:-1]
        codes = (np.concatenate(programs).astype(np.int64) if n
                 else np.zeros(0, dtype=np.int64))
        shape = (n, inputs.shape[0])
        outs = np.zeros(shape, dtype=np.int64)
        stops = np.zeros(shape, dtype=np.int64)
        steps = np.zeros(shape, dtype=np.int64)
        _eval_kernel(self.M, self.F, codes, offs, lens,
                     np.ascontiguousarray(inputs, dtype=np.int64), max_steps, outs, stops, steps)
        return outs, stops, steps

    def run_operator(self, op: np.ndarray, ds0: np.ndarray, Ds0: np.ndarray, max_steps: int
                     ) -> tuple[int, int, np.ndarray, int]:
        """Run operator ``op`` on ``ds0`` with stream ``Ds0`` (bottom first): (stop code, halt
        reason code, child = ds[1..dp], steps)."""
        if not 1 <= len(op) <= MAX_CODE:
            raise ValueError(f"operator length must be in 1..{MAX_CODE}")
        if len(ds0) > MAXDP or len(Ds0) > MAXDP:
            raise ValueError(f"ds and Ds hold at most {MAXDP} cells")
        child = np.zeros(MAXDP, dtype=np.int64)
        code, why, dp, steps = _op_kernel(self.M, self.F,
                                          np.ascontiguousarray(op, dtype=np.int64),
                                          np.ascontiguousarray(ds0, dtype=np.int64),
                                          np.ascontiguousarray(Ds0, dtype=np.int64),
                                          max_steps, child)
        return int(code), int(why), child[:int(dp)].copy(), int(steps)


MAX_CODE = 1000  # code room after START (the machine's MAXQ)
HALT_REASONS = vm.HALT_REASONS

__all__ = ["BADIP", "END", "HALTED", "HALT_REASONS", "START", "STOP_NAMES", "TIME", "GPMachine"]
