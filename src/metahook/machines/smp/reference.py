"""The SMP machine, slow pure-Python reference.

A separate, straightforward implementation of the semantics in :mod:`.machine` (lists of lists, a
list of SSA blocks holding dicts of saved rows), written for clarity rather than speed. Given the
same instruction set, constants and stream of uniforms, it must make exactly the same choices and
reach bit-for-bit the same policy, work cells, IP, time, reward and stack as the numba fast path;
``tests/test_ssa_smp.py`` checks that on generated programs, and ``metahook bench smp`` times both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from metahook.machines.smp import instructions as ins
from metahook.machines.smp.instructions import InstructionSet

_BIG = 1e300


@dataclass
class Block:
    """One SSA block: its tag ``(v, R(v))`` and the old rows it saved (address -> row)."""

    v: float
    Rv: float
    saved: dict[int, list[float]] = field(default_factory=dict)


class ReferenceSMP:
    """One self-modifying policy with its SSA stack, in plain Python."""

    def __init__(
        self,
        iset: InstructionSet,
        n_cells: int,
        n_work: int,
        lam: float,
        minp: float,
        eval_delay: int,
        prepeval_unit: int,
        sms_max_steps: int,
        ssa: bool,
        eval_max_steps: int = 2**62,
    ) -> None:
        self.iset = iset
        self.names = iset.names
        self.kinds = [int(k) for k in iset.kind]
        self.arities = [int(a) for a in iset.arity]
        self.env_ids = [int(e) for e in iset.env_id]
        self.n_ops = iset.n_ops
        self.w = iset.width
        self.m = n_cells
        self.P = [[1.0 / self.n_ops] * self.n_ops for _ in range(n_cells)]
        self.c = [0.0] * n_work
        self.lam, self.minp = lam, minp
        self.eval_delay, self.prepeval_unit = eval_delay, prepeval_unit
        self.sms_max_steps = sms_max_steps
        self.eval_max_steps = eval_max_steps
        self.sms_end = 0
        self.ssa_on = ssa
        self.IP = 0
        self.time = 0
        self.R = 0.0
        self.mods_enabled = True
        self.sms_mods = 0
        self.sms_start = 0
        self.eval_countdown = 0
        self.stack: list[Block] = []
        self.block_open = False
        self.restored_total = 0

    # ---------------------------------------------------------------- sampling
    @staticmethod
    def _sample(row: Sequence[float], u: float) -> int:
        acc = 0.0
        for j, p in enumerate(row[:-1]):
            acc += p
            if u < acc:
                return j
        return len(row) - 1

    # ---------------------------------------------------------------- SSA
    def _open(self) -> None:
        """A modification is about to happen: open the SMS and (SSA on) the block."""
        if self.sms_mods == 0:
            self.sms_start = self.time
        if self.ssa_on and not self.block_open:
            self.stack.append(Block(float(self.time), self.R))
            self.block_open = True

    def _save(self, row: int) -> None:
        """Save the old row ``row`` in the open block (once per block; one time step)."""
        if not self.ssa_on:
            return
        top = self.stack[-1]
        if row not in top.saved:
            top.saved[row] = list(self.P[row])
            self.time += 1

    def _evaluate(self) -> int:
        restored = 0
        if self.ssa_on:
            t, R = float(self.time), self.R
            # survivors: the longest bottom run of tags over which the SSC chain holds
            keep, prev = len(self.stack), R / t
            for i, b in enumerate(self.stack):
                if t <= b.v:
                    break
                q = (R - b.Rv) / (t - b.v)
                if not q > prev:
                    keep = i
                    break
                prev = q
            while len(self.stack) > keep:
                for row, old in self.stack.pop().saved.items():
                    self.P[row] = list(old)
                    restored += 1
            self.time += restored
        self.restored_total += restored
        self.block_open = False
        self.mods_enabled = True
        self.sms_mods = 0
        self.eval_countdown = 0
        return restored

    def _end_sms(self, delay: int) -> None:
        if self.sms_mods > 0 and self.mods_enabled:
            self.mods_enabled = False
            self.eval_countdown = max(1, delay)
            self.sms_end = self.time

    def reward(self, r: float, event: bool) -> int:
        self.R += r
        if event and self.eval_countdown > 0:
            self.eval_countdown -= 1
            if self.eval_countdown == 0:
                return self._evaluate()
        return 0

    # ---------------------------------------------------------------- one instruction
    def step(self, uniforms: Sequence[float], pos: int) -> tuple[str, list[int], int]:
        """Execute one instruction reading uniforms from ``uniforms[pos:]``.

        Returns ``(name, [env action or code, a1, a2, a3], new pos)``; for an environment
        instruction the name is ``"env"`` and the caller executes it.
        """
        if self.sms_mods > 0 and self.mods_enabled and (
            self.time - self.sms_start > self.sms_max_steps
        ):
            self._end_sms(self.eval_delay)
        if self.eval_countdown > 0 and self.time - self.sms_end >= self.eval_max_steps:
            self._evaluate()
        ip = self.IP
        op = self._sample(self.P[ip], uniforms[pos])
        pos += 1
        self.time += 1
        args = [0, 0, 0]
        for a in range(self.arities[op]):
            args[a] = self._sample(self.P[(ip + 1 + a) % self.m], uniforms[pos])
            pos += 1
            self.time += 1
        self.IP = (ip + self.w) % self.m
        a1, a2, a3 = args
        kind = self.kinds[op]
        nw = len(self.c)
        if kind == ins.ENV:
            return "env", [self.env_ids[op], a1, a2, a3], pos
        name = self.names[op]
        if kind in (ins.ADD, ins.SUB, ins.MUL):
            if max(a1, a2, a3) < nw:
                x = {ins.ADD: self.c[a1] + self.c[a2], ins.SUB: self.c[a1] - self.c[a2],
                     ins.MUL: self.c[a1] * self.c[a2]}[kind]
                if -_BIG < x < _BIG:
                    self.c[a3] = x
        elif kind == ins.MOV:
            if max(a1, a2) < nw:
                self.c[a2] = self.c[a1]
        elif kind == ins.JUMPHOME:
            self.IP = 0
        elif kind == ins.JUMP:
            self.IP = (a1 * self.w) % self.m
        elif kind == ins.GETP:
            if max(a1, a2, a3) < nw and all(-_BIG < self.c[a] < _BIG for a in (a1, a2)):
                ci = int(abs(self.c[a1]) % self.m)
                self.c[a3] = self.P[ci][int(abs(self.c[a2]) % self.n_ops)]
        elif kind == ins.ENDSELFMOD:
            self._end_sms(self.eval_delay)
        elif kind == ins.PREPEVAL:
            self._end_sms(1 + a1 * self.prepeval_unit)
        elif kind in (ins.INCPROB, ins.DECPROB) and self.mods_enabled:
            i = (a1 * self.n_ops + a2) % self.m
            row = self.P[i]
            lam = self.lam
            if kind == ins.INCPROB:
                ok = all(lam * p >= self.minp for k, p in enumerate(row) if k != a3)
                new = [lam * p for p in row]
                rest = 0.0
                for k in range(self.n_ops):
                    if k != a3:
                        rest += new[k]
                new[a3] = 1.0 - rest
            else:
                pij = row[a3]
                ok = lam * pij >= self.minp
                others = 0.0
                for k in range(self.n_ops):
                    if k != a3:
                        others += row[k]
                scale = (1.0 - lam * pij) / others
                new = [lam * pij if k == a3 else p * scale for k, p in enumerate(row)]
            if ok:
                self._open()
                self._save(i)
                self.P[i] = new
                self.time += 1
                self.sms_mods += 1
        elif kind == ins.MOVEDIST and self.mods_enabled:
            n_slots = self.m // self.w
            src, dst = (a1 % n_slots) * self.w, (a2 % n_slots) * self.w
            if src != dst:
                self._open()
                for r in range(self.w):
                    self._save(dst + r)
                    self.P[dst + r] = list(self.P[src + r])
                    self.time += 1
                self.sms_mods += 1
        return name, [op, a1, a2, a3], pos
