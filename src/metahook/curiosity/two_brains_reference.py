"""The two-brains machine, slow pure-Python reference.

A separate, straightforward implementation of the semantics of :mod:`.two_brains` (lists of
lists for LEFT and RIGHT, a list of SSA blocks per module holding dicts of saved rows), written
for clarity rather than speed. Given the same constants and stream of uniforms, it must make
exactly the same choices and reach bit for bit the same modules, state, IP, time, rewards and
stacks as the numba loop :func:`metahook.curiosity.two_brains.tb_run`;
``tests/test_curiosity_two_brains.py`` checks that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from metahook.curiosity import two_brains as tb


@dataclass
class Block:
    """One SSA block of a module: its tag ``(v, R(v))`` and the rows it saved (row -> values)."""

    v: float
    Rv: float
    saved: dict[int, list[float]] = field(default_factory=dict)


@dataclass
class Module:
    """One module (LEFT or RIGHT): its values, reward, SSA stack and SMS bookkeeping."""

    rows: list[list[float]]
    R: float = 0.0
    R_ext: float = 0.0
    R_surprise: float = 0.0
    stack: list[Block] = field(default_factory=list)
    mods_enabled: bool = True
    sms_mods: int = 0
    countdown: int = 0
    block_open: bool = False
    sms_start: int = 0
    sms_end: int = 0
    mods: int = 0
    refused: int = 0
    evals: int = 0
    wins: int = 0
    restored: int = 0


class ReferenceTwoBrains:
    """LEFT and RIGHT, the state ``S``, the agent's world; instructions one at a time."""

    def __init__(self, params: tb.TwoBrainsParams, u: Sequence[float]) -> None:
        params.validate()
        self.p = params
        self.n = tb.N_OPS
        self.m = params.n_cols
        self.mod = [Module([[1.0 / self.n] * self.n for _ in range(self.m)]) for _ in range(2)]
        self.S = [0] * params.n_state
        self.ip = 0
        self.time = 0
        self.instructions = 0
        self.x = self.y = 0
        self.goals = self.bets = self.agreed = self.equal = self.moves = 0
        self.first_goal = -1
        self.u = list(u)
        self.upos = 0

    # ------------------------------------------------------------------ helpers
    def _u(self) -> float:
        x = self.u[self.upos]
        self.upos += 1
        return x

    def _draw(self, weights: list[float]) -> int:
        total = 0.0
        for w in weights:
            total += w
        target = self._u() * total
        acc, last = 0.0, 0
        for j, w in enumerate(weights):
            if w > 0.0:
                acc += w
                last = j
                if target < acc:
                    return j
        return last

    def _joint(self, i: int) -> int:
        left, right = self.mod[0].rows[i], self.mod[1].rows[i]
        return self._draw([a * b for a, b in zip(left, right, strict=True)])

    def _wrap(self, x: int) -> int:
        M = self.p.M
        return (x + M) % (2 * M + 1) - M

    def _cell(self, a: int) -> int:
        return a % len(self.S)

    # ------------------------------------------------------------------ SSA
    def _evaluate(self, k: int) -> None:
        md = self.mod[k]
        if self.p.ssa and md.stack:
            t, R = float(self.time), md.R
            keep, prev = len(md.stack), R / t
            for i, b in enumerate(md.stack):
                if t <= b.v:
                    break
                speed = (R - b.Rv) / (t - b.v)
                if not speed > prev:
                    keep = i
                    break
                prev = speed
            while len(md.stack) > keep:
                block = md.stack.pop()
                for row, old in block.saved.items():
                    md.rows[row] = list(old)
                self.time += len(block.saved)
                md.restored += len(block.saved)
        md.block_open = False
        md.mods_enabled = True
        md.sms_mods = 0
        md.countdown = 0
        md.evals += 1

    def _reward(self, k: int, r: float) -> None:
        md = self.mod[k]
        md.R += r
        if r != 0.0 and md.countdown > 0:
            md.countdown -= 1
            if md.countdown == 0:
                self._evaluate(k)

    def _end_sms(self, k: int) -> None:
        md = self.mod[k]
        if md.sms_mods > 0 and md.mods_enabled:
            md.mods_enabled = False
            md.countdown = max(1, self.p.eval_delay)
            md.sms_end = self.time

    def _open(self, k: int) -> None:
        md = self.mod[k]
        if md.sms_mods == 0:
            md.sms_start = self.time
        if self.p.ssa and not md.block_open:
            md.stack.append(Block(float(self.time), md.R))
            md.block_open = True

    def _save(self, k: int, row: int) -> None:
        md = self.mod[k]
        if self.p.ssa and row not in md.stack[-1].saved:
            md.stack[-1].saved[row] = list(md.rows[row])
            self.time += 1

    def _modify(self, k: int, op: int, a1: int, a2: int, a3: int) -> None:
        md = self.mod[k]
        if not md.mods_enabled:
            return
        lam, minp, n = self.p.lam, self.p.minp, self.n
        if op == 2:  # MoveDist
            slots = self.m // tb.WIDTH
            src, dst = (a1 % slots) * tb.WIDTH, (a2 % slots) * tb.WIDTH
            if src == dst:
                return
            self._open(k)
            for r in range(tb.WIDTH):
                self._save(k, dst + r)
                md.rows[dst + r] = list(md.rows[src + r])
                self.time += 1
            md.sms_mods += 1
            md.mods += 1
            return
        i = (a1 * n + a2) % self.m
        row = md.rows[i]
        if op == 0:
            ok = all(lam * row[j] >= minp for j in range(n) if j != a3)
        else:
            ok = lam * row[a3] >= minp
        if not ok:
            md.refused += 1
            return
        self._open(k)
        self._save(k, i)
        row = md.rows[i]
        if op == 0:
            rest = 0.0
            for j in range(n):
                if j != a3:
                    row[j] = lam * row[j]
                    rest += row[j]
            row[a3] = 1.0 - rest
        else:
            pij = row[a3]
            others = 0.0
            for j in range(n):
                if j != a3:
                    others += row[j]
            scale = (1.0 - lam * pij) / others
            for j in range(n):
                row[j] = lam * pij if j == a3 else row[j] * scale
        self.time += 1
        md.sms_mods += 1
        md.mods += 1

    # ------------------------------------------------------------------ the basic cycle
    def step(self) -> None:
        """One instruction."""
        p, S = self.p, self.S
        for k in range(2):
            md = self.mod[k]
            if md.sms_mods > 0 and md.mods_enabled and self.time - md.sms_start > p.sms_max_steps:
                self._end_sms(k)
            if md.countdown > 0 and self.time - md.sms_end >= p.eval_max_steps:
                self._evaluate(k)
        ip = self.ip
        op = self._joint(ip)
        self.time += 1
        args = [0, 0, 0]
        for a in range(int(tb.ARITY[op])):
            args[a] = self._joint((ip + 1 + a) % self.m)
            self.time += 1
        a1, a2, a3 = args
        self.instructions += 1
        self.ip = (ip + tb.WIDTH) % self.m
        c1, c2, c3 = self._cell(a1), self._cell(a2), self._cell(a3)
        name = tb.NAMES[op]
        if (name == "Jmpl" and S[c1] < S[c2]) or (name == "Jmpeq" and S[c1] == S[c2]):
            self.ip = (a3 * tb.WIDTH) % self.m
        elif name == "Add":
            S[c3] = self._wrap(S[c1] + S[c2])
        elif name == "Sub":
            S[c3] = self._wrap(S[c1] - S[c2])
        elif name == "Mov":
            S[c2] = S[c1]
        elif name == "Init":
            S[c1] = self._wrap(a2 - self.n // 2)
        elif name == "Inc":
            S[c1] = self._wrap(S[c1] + 1)
        elif name == "Jump":
            self.ip = (a1 * tb.WIDTH) % self.m
        elif name == "Move":
            d = a1 % 4
            x, y = self.x + int(tb.DX[d]), self.y + int(tb.DY[d])
            if 0 <= x < p.grid and 0 <= y < p.grid:
                self.x, self.y = x, y
            self.moves += 1
            if self.x == p.grid - 1 and self.y == p.grid - 1:
                self.goals += 1
                if self.first_goal < 0:
                    self.first_goal = self.time
                self.x = self.y = 0
                for k in range(2):
                    self.mod[k].R_ext += 0.5 * p.ext_reward
                    self._reward(k, 0.5 * p.ext_reward)
            S[tb.X_CELL], S[tb.Y_CELL] = self._wrap(self.x), self._wrap(self.y)
        elif name == "Bet!":
            col = (ip + tb.BET_OFFSET) % self.m
            c = 1 if self._draw(list(self.mod[0].rows[col])) > self.n // 2 else -1
            d = 1 if self._draw(list(self.mod[1].rows[col])) > self.n // 2 else -1
            self.time += 2
            if c == d:
                self.agreed += 1
            else:
                self.bets += 1
                equal = S[c1] == S[c2]
                self.equal += int(equal)
                left = c if equal else -c
                self.mod[0 if left > 0 else 1].wins += 1
                if p.curious:
                    self.mod[0].R_surprise += left
                    self.mod[1].R_surprise -= left
                    self._reward(0, float(left))
                    self._reward(1, float(-left))
                S[tb.SURPRISE_CELL] = c
        elif name in ("EndSelfModL", "EndSelfModR"):
            self._end_sms(0 if name.endswith("L") else 1)
        elif op >= tb.INCPROB_L:
            k = 0 if op < tb.INCPROB_R else 1
            self._modify(k, op - (tb.INCPROB_L if k == 0 else tb.INCPROB_R), a1, a2, a3)

    def run(self, t_end: int) -> None:
        """Instructions until ``time >= t_end``."""
        while self.time < t_end:
            self.step()
