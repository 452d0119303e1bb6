"""A slow, independently written pure-Python interpreter of the OOPS language (the reference).

Same semantics as :mod:`metahook.machines.forth.vm` (the compiled interpreter), written the way
the paper describes the machine: a :class:`Machine` with named registers (``dp``, ``Dp``, ``cp``,
``fnp``, ``ip``, ``base``, ``out``), one method per instruction, looked up by the instruction
table's canonical names, and an undo log of ``(cell, old value)`` pairs. :class:`Search` adds the
``Try`` loop of :mod:`metahook.search.levin` (ring, token requests, backtracking). Differential
tests run both interpreters and both searches on generated programs and compare everything.

Conventions shared with the compiled interpreter (the original program's): ``stop`` sets the halt
flag and leaves only the innermost helper, so the rest of an instruction still runs; a pop of an
empty stack yields 0. Tapes are one flat list (address a of task r at ``r * ROW - a``), so scans
past address 0 read the previous task's tape; below the first tape they read zeros.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from metahook.machines.forth import instructions as ins
from metahook.machines.forth import layout as mem
from metahook.machines.forth import vm  # halt-reason codes only


class Machine:
    """The OOPS machine: code q, frozen-program list, one tape per task, the undo log."""

    def __init__(self, q: Sequence[int], old: Sequence[tuple[int, int]], n_tokens: int = mem.NQ,
                 undo_capacity: int = mem.STACKSIZE) -> None:
        self.q = [0, *[int(x) for x in q]]  # q[a] for a = 1..len
        self.qp = len(self.q) - 1
        self.old = [(0, 0), *[(int(s), int(n)) for s, n in old]]
        self.n_tokens = n_tokens
        self.n_search = mem.NSQ
        self.up = mem.NSQ
        self.ndecl = len(ins.DECLARED)
        self.mem = [0] * (mem.NROWS * mem.ROW)
        self.marks: set[int] = set()
        self.undo: list[tuple[int, int]] = []
        self.undo_capacity = undo_capacity
        self.record = False
        self.task = 1
        self.t = self.totalt = self.insts = 0
        self.T = 0
        self.P = 1.0
        self.halt = False
        self.why = 0
        self.jumped = False
        self.topt = self.top_sp = 0
        self.moves = 0
        self.ops: dict[int, Callable[[], None]] = {}
        for i in ins.INSTRUCTIONS:
            if i.number > n_tokens:
                continue
            if i.group == "declared":
                self.ops[i.number] = self._declared(i)
            else:
                self.ops[i.number] = getattr(self, "op_" + _ident(i.name))
        self.decl_start = {}
        a = 1
        for d in ins.DECLARED:
            self.decl_start[d.number] = a
            a += len(d.body)

    # ------------------------------------------------------------ memory
    def cell(self, a: int) -> int:
        k = self.task * mem.ROW - a
        return self.mem[k] if k >= 0 else 0

    def set(self, a: int, v: int) -> None:
        k = self.task * mem.ROW - a
        if self.mem[k] == v:
            return
        if self.record:
            if len(self.undo) >= self.undo_capacity:
                self.stop(vm.H_UNDOFULL)
            elif k not in self.marks:
                self.undo.append((k, self.mem[k]))
                self.marks.add(k)
        self.mem[k] = v

    def code(self, a: int) -> int:
        return self.q[a] if a > 0 else self.cell(a)

    def stop(self, why: int) -> None:
        self.halt = True
        if not self.why:
            self.why = why

    @property
    def TP(self) -> float:
        return float(self.T) * self.P

    # registers on the tape
    @property
    def cp(self) -> int:
        return self.cell(mem.ACP)

    @property
    def dp(self) -> int:
        return self.cell(mem.ADP)

    @property
    def Dp(self) -> int:
        return self.cell(mem.ADDP)

    @property
    def fnp(self) -> int:
        return self.cell(mem.AFNP)

    def C(self, k: int) -> int:
        return self.cell(mem.ACP + self.cp + k)

    def setC(self, k: int, v: int) -> None:
        if not mem.MININT <= v <= mem.MAXINT:
            self.stop(vm.H_RANGE)
            return
        self.set(mem.ACP + self.cp + k, v)

    @property
    def ip(self) -> int:
        return self.C(1)

    @property
    def base(self) -> int:
        return self.C(2)

    # ------------------------------------------------------------ stacks
    def push(self, x: int) -> None:
        d = self.dp + 1
        if d > mem.MAXDP:
            self.stop(vm.H_OVERFLOW)
        elif not mem.MININT <= x <= mem.MAXINT:
            self.stop(vm.H_RANGE)
        else:
            self.set(mem.ADP, d)
            self.set(mem.ADP + d, x)

    def pop(self) -> int:
        d = self.dp
        if d == 0:
            self.stop(vm.H_UNDERFLOW)
            return 0
        self.set(mem.ADP, d - 1)
        return self.cell(mem.ADP + d)

    def top(self) -> int:
        if self.dp == 0:
            self.stop(vm.H_UNDERFLOW)
            return 0
        return self.cell(mem.ADP + self.dp)

    def ds(self, k: int) -> int:
        if not 0 <= k <= mem.MAXDP:
            self.stop(vm.H_INDEX)
            return 0
        return self.cell(mem.ADP + k)

    def pushD(self, x: int) -> None:
        d = self.Dp
        if d == mem.MAXDP:
            self.stop(vm.H_OVERFLOW)
        elif not mem.MININT <= x <= mem.MAXINT:
            self.stop(vm.H_RANGE)
        else:
            self.set(mem.ADDP, d + 1)
            self.set(mem.ADDP + d + 1, x)

    def topD(self) -> int:
        if self.Dp == 0:
            self.stop(vm.H_UNDERFLOW)
            return 0
        return self.cell(mem.ADDP + self.Dp)

    # ------------------------------------------------------------ costs, copies, calls
    def charge(self, n: int) -> bool:
        if n < 0 or float(self.t + n) > self.TP:
            self.stop(vm.H_TIME)
            return False
        self.t += n
        self.totalt += n
        return True

    def copy(self, a: int, b: int, n: int, lo: int, hi: int) -> None:
        """Copy n cells from address a (code or tape) to tape address b, inside [lo, hi)."""
        ok = (n >= 0 and mem.AMIN <= a <= self.qp and mem.AMIN <= a + n <= self.qp
              and b >= lo and b + n <= hi)
        if not ok:
            self.stop(vm.H_COPY)
            return
        if a == b or not self.charge(n):
            return
        order = range(n) if b < a else range(n - 1, -1, -1)
        for k in order:
            self.set(b + k, self.code(a + k))

    def open_frame(self, m: int, n: int) -> None:
        caller_base, d = self.base, self.dp
        if m > d:
            self.stop(vm.H_UNDERFLOW)
            return
        new_cp = self.cp + 3
        if new_cp + 3 > mem.MAXCP:
            self.stop(vm.H_DEPTH)
            return
        self.set(mem.ACP, new_cp)
        self.setC(2, caller_base if m < 0 else d - m)
        self.setC(3, n)
        self.jumped = True

    def call(self, m: int, n: int, address: int) -> None:
        self.open_frame(m, n)
        self.setC(1, address)

    def op_ret(self) -> None:
        frame, n = self.cp, self.C(3)
        if frame < 1:
            self.stop(vm.H_RETMAIN)
            return
        if n > self.dp:
            self.stop(vm.H_RETCOUNT)
            return
        if n >= 0:
            self._move_down(n, self.base)
        self.set(mem.ACP, frame - 3)

    def _move_down(self, n: int, b: int) -> None:
        first = self.dp - n + 1
        if first == b:
            return
        if b > first:
            self.stop(vm.H_RETCOUNT)
            return
        self.set(mem.ADP, b + n)
        if not self.charge(n):
            return
        for k in range(n):
            self.set(mem.ADP + b + 1 + k, self.cell(mem.ADP + first + k))

    def _declared(self, i: ins.Instruction) -> Callable[[], None]:
        def run() -> None:
            self.call(i.decl_in, i.decl_out, self.decl_start[i.number])
        return run

    # ------------------------------------------------------------ search patterns
    @property
    def poff(self) -> int:
        return mem.ACURP + self.cell(mem.ACURP) * (mem.NSQ + 2)

    def p(self, i: int) -> int:
        return self.cell(self.poff + 2 + i)

    @property
    def psum(self) -> int:
        return self.cell(self.poff + 1)

    @property
    def pmax(self) -> int:
        return self.cell(self.poff + 2)

    def boost(self, i: int, by: int) -> None:
        if by < 1 or not 1 <= i <= self.n_search:
            return
        if self.psum + by > mem.MAXINT:
            return
        self.set(self.poff + 1, self.psum + by)
        v = self.p(i) + by
        self.set(self.poff + 2 + i, v)
        if v > self.pmax:
            self.set(self.poff + 2, v)

    def second_max(self) -> int:
        first = self.poff + 2
        x = self.pmax
        k = first
        while True:
            k += 1
            if self.task * mem.ROW - k < 0:
                self.stop(vm.H_SCAN)
                return 0
            if self.cell(k) == x:
                break
        s, m, end = 0, first, first + self.n_search
        while True:
            m += 1
            v = self.cell(m)
            if s < v and m != k:
                s = v
            if not (s < x and m < end):
                return s

    # ------------------------------------------------------------ instructions
    def op_1toD(self) -> None:
        self.pushD(1)

    def op_2toD(self) -> None:
        self.pushD(2)

    def op_mvdsk(self) -> None:
        src, dst = self.ds(self.base + 1), self.ds(self.base + 3)
        if not (1 <= src <= 3 and 1 <= dst <= 3) or src == dst:
            self.stop(vm.H_PEG)
            return
        ps, pd = mem.peg_address(src), mem.peg_address(dst)
        hs, hd = self.cell(ps), self.cell(pd)
        if hs == 0 or (hd > 0 and self.cell(pd + hd) < self.cell(ps + hs)):
            self.stop(vm.H_MOVE)
            return
        self.set(pd, hd + 1)
        self.set(pd + hd + 1, self.cell(ps + hs))
        self.set(ps + hs, 0)
        self.set(ps, hs - 1)
        self.moves += 1

    def _swap_from_top(self, i: int, j: int) -> None:
        self.push(i)
        self.push(j)
        self.op_xmn()

    def op_xAD(self) -> None:
        self._swap_from_top(2, 3)

    def op_xSA(self) -> None:
        self._swap_from_top(3, 4)

    def op_bsf(self) -> None:
        b = self.base
        self.call(-1, -1, mem.ADP + b + self.pop() + 1)

    def op_boostq(self) -> None:
        k = self.pop() + self.ndecl
        if not 0 <= k < len(self.old) or k > self.oldp:
            self.stop(vm.H_OLD)
            return
        start, size = self.old[k]
        if not self.charge(size):
            return
        for a in range(start, start + size):
            self.boost(self.q[a], self.up)

    @property
    def oldp(self) -> int:
        return len(self.old) - 1

    def _binary(self, f: Callable[[int, int], int]) -> None:
        a = self.pop()
        b = self.pop()
        self.push(f(a, b))

    def op_add(self) -> None:
        self._binary(lambda a, b: a + b)

    def op_mul(self) -> None:
        self._binary(lambda a, b: a * b)

    def op_powr(self) -> None:
        n, m = self.pop(), self.pop()
        if m <= 1:
            self.push(1)
            return
        r = m
        while n > 1 and mem.MININT < r < mem.MAXINT:
            r *= m
            n -= 1
        self.push(r)

    def op_sub(self) -> None:
        y = self.pop()
        self.push(self.pop() - y)

    def op_div(self) -> None:
        y = self.pop()
        if y == 0:
            self.stop(vm.H_DIVZERO)
            return
        x = self.pop()
        self.push(int(math.copysign(abs(x) // abs(y), x * y)) if x * y else 0)

    def op_inc(self) -> None:
        self.push(self.pop() + 1)

    def op_dec(self) -> None:
        self.push(self.pop() - 1)

    def op_by2(self) -> None:
        self.push(self.pop() * 2)

    def op_getq(self) -> None:
        k = self.pop()
        if not 0 <= k <= self.oldp:
            self.stop(vm.H_OLD)
            return
        start, size = self.old[k]
        self.copy(start, mem.ADP + 1 + self.dp, size, mem.ADP + 1, mem.AENDSTACK)
        self.set(mem.ADP, self.dp + size)

    def op_insq(self) -> None:
        j = self.pop()
        k = self.pop()
        above = self.dp - self.base - j
        if not 0 <= k <= self.oldp or j < 0 or above < 0:
            self.stop(vm.H_OLD)
            return
        start, size = self.old[k]
        at = mem.ADP + self.base + 1 + j
        self.copy(at, at + size, above, mem.ADP + 1, mem.AENDSTACK)
        self.copy(start, at, size, mem.ADP + 1, mem.AENDSTACK)
        self.set(mem.ADP, self.dp + size)

    def op_findb(self) -> None:
        x = self.pop()
        i = self.base + 1
        while True:
            k = self.task * mem.ROW - (mem.ADP + i)
            if k < 0 and x != 0:  # past the first tape: zeros; the scan runs out of time
                if self.t < self.TP:
                    s = math.ceil(self.TP) - self.t
                    i += s
                    self.t += s
                    self.totalt += s
                break
            if self.cell(mem.ADP + i) == x or not self.t < self.TP:
                break
            i += 1
            self.t += 1
            self.totalt += 1
        self.push(i)

    def op_incQ(self) -> None:
        self.boost(self.top(), 1)

    def op_decQ(self) -> None:
        i = self.top()
        if not 1 <= i <= self.n_search:
            return
        x = self.p(i)
        if x == 0:
            return
        total, mx = self.psum, self.pmax
        if x == 1 and total <= mx + 1:
            self.stop(vm.H_PROB)
            return
        if x == mx:
            self.set(self.poff + 2, self.second_max())
        self.set(self.poff + 2 + i, x - 1)
        self.set(self.poff + 1, total - 1)

    def op_pushpat(self) -> None:
        # The original reads the pointer's *address* (APATP) instead of its value, so the copy
        # target lies far outside the pattern area and the instruction always halts.
        i = mem.APATP + 1
        self.set(mem.APATP, i)
        self.copy(self.poff + 1, mem.ACURP + 1 + i * (2 + mem.NSQ), 2 + mem.NSQ, mem.ACURP + 1,
                  mem.AENDPATS)

    def op_setpat(self) -> None:
        k = self.pop()
        if not 0 <= k <= self.cell(mem.APATP):
            self.stop(vm.H_PATTERN)
            return
        self.set(mem.ACURP, k)

    def op_insn(self) -> None:
        j, n, i = self.pop(), self.pop(), self.pop()
        above = self.dp - self.base - j
        if j < 0 or above < 0 or n < 1:
            self.stop(vm.H_INDEX)
            return
        at = mem.ADP + self.base + 1 + j
        self.copy(at, at + n, above, mem.ADP + 1, mem.AENDSTACK)
        self.copy(mem.ADP + self.base + i, at, n, mem.ADP + 1, mem.AENDSTACK)
        self.set(mem.ADP, self.dp + n)

    def op_mvn(self) -> None:
        j, n, i = self.pop(), self.pop(), self.pop()
        b = mem.ADP + self.base
        self.copy(b + i, b + j, n, mem.ADP + 1, mem.AENDSTACK)
        if j + n - 1 > self.dp:
            self.set(mem.ADP, j + n - 1)

    def op_deln(self) -> None:
        n, m = self.pop(), self.pop()
        if m < 0 or n < 0:
            self.stop(vm.H_INDEX)
            return
        at = mem.ADP + self.base + m
        self.copy(at + n + 1, at + 1, self.dp - self.base - n, mem.ADP + 1, mem.AENDSTACK)
        self.set(mem.ADP, self.dp - n)

    def op_intpf(self) -> None:
        if self.fnp < 1:
            self.stop(vm.H_FUNCTION)
            return
        self.push(self.cell(mem.AFNP + 3 * self.fnp - 2))

    def op_def(self) -> None:
        f = self.fnp + 1
        if f > mem.MAXFN:
            self.stop(vm.H_FUNCTION)
            return
        self.set(mem.AFNP, f)
        entry = mem.AFNP + 3 * f
        self.set(entry, self.ip + 1)
        self.set(entry - 1, self.pop())  # outputs
        self.set(entry - 2, self.pop())  # inputs

    def op_topf(self) -> None:
        self.push(self.fnp)

    def op_dof(self) -> None:
        f = self.pop()
        if not 1 <= f <= self.fnp:
            self.stop(vm.H_FUNCTION)
            return
        entry = mem.AFNP + 3 * f
        self.open_frame(self.cell(entry - 2), self.cell(entry - 1))
        self.setC(1, self.cell(entry))

    def op_oldq(self) -> None:
        k = self.pop()
        if not 0 <= k <= self.oldp:
            self.stop(vm.H_OLD)
            return
        self.open_frame(0, 0)
        self.setC(1, self.old[k][0])

    def op_bsjmp(self) -> None:
        b = self.base
        self.setC(1, b + mem.ADP + self.pop())

    def op_rt0(self) -> None:
        if self.pop() <= 0:
            self.op_ret()

    def op_neg(self) -> None:
        x = self.pop()
        self.push(1 if x == 0 else -x)

    def op_eq(self) -> None:
        self._binary(lambda a, b: int(a == b))

    def op_grt(self) -> None:
        self._binary(lambda a, b: int(a > b))

    def op_clear(self) -> None:
        self.set(mem.ADP, 0)

    def op_del(self) -> None:
        if self.dp == 0:
            self.stop(vm.H_UNDERFLOW)
            return
        self.set(mem.ADP, self.dp - 1)

    def op_up(self) -> None:
        self.push(self.top())

    def op_ex(self) -> None:
        d = self.dp
        if d < 2:
            self.stop(vm.H_UNDERFLOW)
            return
        x = self.ds(d)
        self.set(mem.ADP + d, self.ds(d - 1))
        self.set(mem.ADP + d - 1, x)

    def op_jmp1(self) -> None:
        if self.pop() > 0:
            self.setC(1, self.pop())
            self.jumped = True

    def op_outn(self) -> None:
        n = self.pop()
        self.push(self.ds(self.dp - n + 1))

    def _store_top(self, k: int) -> None:
        if not 1 <= k <= mem.MAXDP:
            self.stop(vm.H_INDEX)
            return
        self.set(mem.ADP + k, self.top())

    def op_inn(self) -> None:
        n = self.pop()
        self._store_top(self.dp - n + 1)

    def op_cpn(self) -> None:
        n = self.pop()
        if n < 0:
            self.stop(vm.H_INDEX)
            return
        d = self.dp
        if d + n > mem.MAXDP:
            self.stop(vm.H_OVERFLOW)
            return
        self.set(mem.ADP, d + n)
        if not self.charge(n):
            return
        for k in range(n):  # from the top down; may read ds[0] (= dp) and below
            self.set(mem.ADP + d + n - k, self.cell(mem.ADP + d - k))

    def op_xmn(self) -> None:
        m, n = self.pop(), self.pop()
        self._swap(self.dp - m + 1, self.dp - n + 1)

    def _swap(self, i: int, j: int) -> None:
        if not (1 <= i <= mem.MAXDP and 1 <= j <= mem.MAXDP):
            self.stop(vm.H_INDEX)
            return
        x = self.ds(i)
        self.set(mem.ADP + i, self.ds(j))
        self.set(mem.ADP + j, x)

    def op_outb(self) -> None:
        n = self.pop()
        self.push(self.ds(self.base + n))

    def op_innb(self) -> None:
        n = self.pop()
        self._store_top(self.base + n)

    def op_cpnb(self) -> None:
        n = self.pop()
        self.copy(mem.ADP + self.base + 1, mem.ADP + self.dp + 1, n, mem.ADP + 1, mem.AENDSTACK)
        self.set(mem.ADP, self.dp + n)

    def op_xmnb(self) -> None:
        m, n = self.pop(), self.pop()
        self._swap(self.base + m, self.base + n)

    def op_ip2ds(self) -> None:
        self.push(self.ip)

    def op_pip(self) -> None:
        self.setC(1, self.pop())

    def op_pushdp(self) -> None:
        self.push(self.dp + 1)

    def op_setdp(self) -> None:
        x = self.pop()
        if not 0 <= x <= mem.MAXDP:
            self.stop(vm.H_INDEX)
            return
        self.set(mem.ADP, x)

    def op_toD(self) -> None:
        self.pushD(self.pop())

    def op_fromD(self) -> None:
        self.push(self.topD())

    def op_delD(self) -> None:
        if self.Dp == 0:
            self.stop(vm.H_UNDERFLOW)
            return
        self.set(mem.ADDP, self.Dp - 1)

    def op_tsk(self) -> None:
        self.push(self.cell(mem.ATASK))

    def op_c0(self) -> None:
        self.push(0)

    def op_c1(self) -> None:
        self.push(1)

    def op_c2(self) -> None:
        self.push(2)

    def op_c3(self) -> None:
        self.push(3)

    def op_c4(self) -> None:
        self.push(4)

    def op_c5(self) -> None:
        self.push(5)

    def op_exec(self) -> None:
        k = self.pop()
        if not 1 <= k <= self.n_tokens:
            self.stop(vm.H_TOKEN)
            return
        self.ops[k]()

    def op_qot(self) -> None:
        self.set(mem.AQUOTEFLAG, 1)

    def op_nop(self) -> None:
        pass

    # extension (not in the original program's token list)
    def op_geq(self) -> None:
        self._binary(lambda a, b: int(a >= b))

    def op_and(self) -> None:
        self._binary(lambda a, b: int(a > 0 and b > 0))

    def op_or(self) -> None:
        self._binary(lambda a, b: int(a > 0 or b > 0))

    def op_not(self) -> None:
        self.push(int(self.pop() <= 0))

    def op_base(self) -> None:
        self.push(self.base)

    def op_outopf(self) -> None:
        if self.fnp < 1:
            self.stop(vm.H_FUNCTION)
            return
        self.push(self.cell(mem.AFNP + 3 * self.fnp - 1))

    def op_popf(self) -> None:
        f = self.fnp
        if f == 0:
            self.stop(vm.H_FUNCTION)
            return
        self.push(f)
        self.set(mem.AFNP, f - 1)

    def op_find(self) -> None:
        x = self.pop()
        i = self.dp
        while i > 0 and self.cell(mem.ADP + i) != x and self.t < self.TP:
            i -= 1
            self.t += 1
            self.totalt += 1
        self.push(i)

    def op_rt1(self) -> None:
        if self.pop() > 0:
            self.op_ret()

    def op_half(self) -> None:
        x = self.pop()
        self.push(-(-x // 2) if x < 0 else x // 2)

    def op_rem(self) -> None:
        y = self.pop()
        if y == 0:
            self.stop(vm.H_DIVZERO)
            return
        x = self.pop()
        self.push(int(math.fmod(x, y)))

    def op_stf(self) -> None:
        self.setC(1, self.pop() + mem.ADP)

    def op_basef(self) -> None:
        self.setC(1, self.base + mem.ADP)

    def op_poppat(self) -> None:
        i = self.cell(mem.APATP)
        if i == 0:
            self.stop(vm.H_PATTERN)
            return
        self.set(mem.APATP, i - 1)
        self.push(i)

    # ------------------------------------------------------------ one token
    def valid_ip(self) -> bool:
        a = self.ip
        return mem.AMIN <= a <= self.qp and 1 <= self.code(a) <= self.n_tokens

    def step(self) -> None:
        """Execute the token at the current task's ip (no goal test)."""
        token = self.code(self.ip)
        if self.t > 2 * self.topt:
            self.topt = self.t
        if len(self.undo) > 2 * self.top_sp:
            self.top_sp = len(self.undo)
        self.jumped = False
        self.insts += 1
        self.t += 1
        self.totalt += 1
        if self.cell(mem.AQUOTEFLAG) == 1:
            if token == ins.T_QOT:
                self.set(mem.AQUOTEFLAG, 0)
            else:
                self.push(token)
        else:
            self.ops[token]()
        if not self.jumped:
            self.setC(1, self.ip + 1)

    def solved(self, goal: int) -> bool:
        if goal == 1:
            Ds = [self.cell(mem.ADDP + k) for k in range(1, self.Dp + 1)]
            n = self.task
            return len(Ds) > 2 * n and Ds[-2 * n:] == [1] * n + [2] * n
        if goal == 2:
            return self.cell(mem.peg_address(1)) == 0 and self.cell(mem.peg_address(2)) == 0
        return False


def _ident(name: str) -> str:
    return {"1toD": "1toD", "2toD": "2toD"}.get(name, name)


class Search(Machine):
    """The Try loop over a ring of tasks (see :mod:`metahook.search.levin`), in plain Python."""

    def __init__(self, q: Sequence[int], old: Sequence[tuple[int, int]], a_frozen: int,
                 goal: int) -> None:
        super().__init__(q, old)
        self.a_frozen = a_frozen
        self.goal = goal
        self.prefs = 0
        self.ring: list[int] = []  # unsolved tasks, in ring order
        self.solved_log: list[int] = []  # tasks solved, most recent last
        self.slots: list[dict[str, object]] = []
        self.qp = a_frozen

    def run_ring(self, tasks: Sequence[int], start: int, T: int) -> bool:
        """One search: tasks (highest first), every ip = start, limit T. True if all solved."""
        self.T = T
        self.qp = self.a_frozen
        if len(tasks) > T:
            return False
        for task in tasks:
            self.task = task
            self.mem[task * mem.ROW - (mem.ACP + self.cell(mem.ACP) + 1)] = start
        # the ring as a circular order, highest task first, then downward
        order = sorted(tasks, reverse=True)
        self.ring = list(order)
        self.solved_log = []
        self.record = True
        self.t, self.P = 0, 1.0
        pos = 0  # index into self.ring of the current task
        self.task = self.ring[0]
        self.slots = []
        result = False
        while True:
            self.halt, self.why = False, 0
            while (self.ring and self.valid_ip() and not self.halt
                   and float(self.t + len(self.ring)) <= self.TP):
                self.step()
                if self.solved(self.goal):
                    self.ring.pop(pos)
                    self.solved_log.append(self.task)
                    pos -= 1
                if self.ring:
                    pos = (pos + 1) % len(self.ring)
                    self.task = self.ring[pos]
            if not self.ring:
                result = True
                break
            self._maybe_open_slot()
            pos = self._backtrack(pos)
            if self.qp == self.a_frozen:
                break
        # reset every tape and the ring
        for k, v in reversed(self.undo):
            self.mem[k] = v
        self.undo.clear()
        self.marks.clear()
        return result

    def _maybe_open_slot(self) -> None:
        if self.halt or self.ip != self.qp + 1:
            return
        if self.TP * float(self.pmax) < float((self.t + len(self.ring)) * self.psum):
            return
        lo = self.slots[-1]["sp"] if self.slots else 0
        for k, _ in self.undo[int(lo):]:  # type: ignore[call-overload]
            self.marks.discard(k)
        self.qp += 1
        self.slots.append({"sp": len(self.undo), "solved": len(self.solved_log), "t": self.t,
                           "P": self.P, "cand": 0, "ring": list(self.ring)})

    def _backtrack(self, pos: int) -> int:
        while self.qp > self.a_frozen:
            ok, pos = self._next_candidate(pos)
            if ok:
                return pos
            self.qp -= 1
            self.slots.pop()
        return pos

    def _next_candidate(self, pos: int) -> tuple[bool, int]:
        slot = self.slots[-1]
        i = int(slot["cand"])  # type: ignore[call-overload]
        if i != 0:
            sp = int(slot["sp"])  # type: ignore[call-overload]
            for k, v in reversed(self.undo[sp:]):
                self.mem[k] = v
                self.marks.discard(k)
            del self.undo[sp:]
            n_solved = int(slot["solved"])  # type: ignore[call-overload]
            if len(self.solved_log) > n_solved:
                # reinsert in reverse order of solving; the current task becomes the earliest
                self.task = self.solved_log[n_solved]
                del self.solved_log[n_solved:]
                self.ring = list(slot["ring"])  # type: ignore[call-overload]
                pos = self.ring.index(self.task)
            self.t = int(slot["t"])  # type: ignore[call-overload]
            self.P = float(slot["P"])  # type: ignore[arg-type]
        if i == self.n_search:
            return False, pos
        total = self.psum
        tmp = self.TP / float(total * (self.t + len(self.ring)))
        i += 1
        while i <= self.n_search and tmp * float(self.p(i)) < 1.0:
            i += 1
        if i > self.n_search:
            return False, pos
        slot["cand"] = i
        self.q[self.qp:] = []
        self.q.append(i)
        self.P = float(slot["P"]) * (float(self.p(i)) / float(total))  # type: ignore[arg-type]
        self.prefs += 1
        return True, pos
