"""Two brains that bet: the LEFT and RIGHT modules of "Exploring the predictable".

Schmidhuber, "Exploring the predictable", in Advances in Evolutionary Computing (Ghosh & Tsutsui,
eds.), Springer 2002, pp. 579-612; earlier "What's interesting?", TR IDSIA-35-97 (1997). Web
copy: people.idsia.ch/~juergen/explorepredictable/ (sections 2-4 and the appendix).

The system, in a few lines [paper, paraphrased]:

1. Two ``m x n`` matrices of modifiable values, the modules ``LEFT`` and ``RIGHT``. Column ``i``
   of a module (here: row ``LR[k, i]``) holds its preferences over the ``n`` values an
   instruction cell can take. An instruction pointer ``IP`` points at a column; the instruction
   there is drawn with probability ``f(R_ij, L_ij) / sum_k f(R_ik, L_ik)`` with ``f(x, y) = xy``,
   so an instruction runs only if *both* modules support it: a zero in either vetoes it. Its
   arguments are drawn in the same way from the following columns.
2. Instructions change the environment, the internal state ``S`` (integers in ``{-M..M}``), the
   IP (conditional jumps), or one module's own values (self-modification, as in the SMP of
   :mod:`metahook.machines.smp`).
3. ``Bet!(x, y)``: LEFT draws ``c'`` from its own column ``IP + 3`` alone and RIGHT ``d'`` from
   its own; ``c = 1`` if ``c' > n/2`` else ``-1``, likewise ``d``. If ``c == d`` the modules agree
   and nothing happens. Otherwise the experiment is run: if ``S_x == S_y`` LEFT gets the surprise
   reward ``c`` and RIGHT ``-c``, else LEFT ``-c`` and RIGHT ``c`` -- the module that bet on the
   outcome that happened gains 1, the other loses 1 (zero sum). ``c`` is written to a state cell,
   so surprises become inputs.
4. External reward is split equally between the modules. Each module is a learner of its own
   with its own cumulative reward and its own success-story stack (SSA, the kernels of
   :mod:`metahook.core.ssa_stack`): the SSA calls of a module pop only that module's
   modifications, judged by that module's reward per time.

Our instruction set and environment (the paper's appendix has more instructions; what we kept and
why is in docs/curiosity.md, Deviations): ``n = N_OPS`` values per column, slots of ``WIDTH`` = 4
cells (an instruction and up to three arguments), ``m`` columns. Arguments name state cells
directly (``a mod n_state``) or slots (``a * WIDTH mod m``).

======  ===============  =========================================================================
code    instruction      meaning
======  ===============  =========================================================================
0       Jmpl(a1,a2,a3)   if S[a1] < S[a2]: IP <- slot a3
1       Jmpeq(a1,a2,a3)  if S[a1] == S[a2]: IP <- slot a3
2       Add(a1,a2,a3)    S[a3] <- S[a1] + S[a2] (wrapped into -M..M)
3       Sub(a1,a2,a3)    S[a3] <- S[a1] - S[a2] (wrapped)
4       Mov(a1,a2)       S[a2] <- S[a1]
5       Init(a1,a2)      S[a1] <- a2 - n/2
6       Inc(a1)          S[a1] <- S[a1] + 1 (wrapped)
7       Jump(a1)         IP <- slot a1
8       Move(a1)         the agent steps in direction a1 mod 4 (a wall stops it); S[0], S[1] <-
                         its position; on the goal: external reward, back to the start
9       Bet!(a1,a2)      the bet on S[a1] == S[a2] (above); the bets come from column IP+3
10-13   IncProbL(a1,a2,a3), DecProbL(a1,a2,a3), MoveDistL(a1,a2), EndSelfModL: LEFT's own
        self-modification, as the SMP's IncProb / DecProb / MoveDist / EndSelfMod
14-17   the same for RIGHT
======  ===============  =========================================================================

Self-modification and SSA per module ``k`` (as in the SMP): the first change of a module's
values while none of its sequences (SMS) is open opens one and pushes a tag ``(t, R_k(t))`` on
``k``'s stack; every row is saved before its first change in the block; EndSelfMod ends the SMS
and disables ``k``'s learning instructions until ``k``'s evaluation, the SSA call on ``k``'s stack
after ``eval_delay`` reward events of ``k`` (any nonzero reward it receives) or ``eval_max_steps``
time steps. A MinP guard refuses a change that would take any value of the row below ``minp``.

Time: one step per scan of a column (drawing an instruction, an argument or a bet; changing,
pushing or restoring a row). In the baseline (``curious = 0``) the same machine runs, Bet!
included, but bets pay nothing: SSA alone, driven by the external reward.

Glossary: ``LR[0]`` LEFT, ``LR[1]`` RIGHT (rows = the paper's columns); ``S`` internal state;
``IP``; ``R[k]`` module ``k``'s cumulative reward; SMS self-modification sequence; ``lam`` the
IncProb / DecProb step; ``minp`` the guard.

:func:`tb_run` is the numba fast path; :mod:`.two_brains_reference` the slow pure-Python
reference, checked against it step for step by ``tests/test_curiosity_two_brains.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.core.seeding import restore_generator
from metahook.core.ssa_stack import (
    AGENT_ENTRY_CAPACITY,
    AGENT_TAG_CAPACITY,
    N_COUNTS,
    N_TAGS,
    TAG_WIDTH,
    agent_stacks_state,
    restore_agent_stacks,
    ssa_begin_block,
    ssa_call,
    ssa_free,
    ssa_save,
)

LEFT, RIGHT = 0, 1
NAMES = ("Jmpl", "Jmpeq", "Add", "Sub", "Mov", "Init", "Inc", "Jump", "Move", "Bet!",
         "IncProbL", "DecProbL", "MoveDistL", "EndSelfModL",
         "IncProbR", "DecProbR", "MoveDistR", "EndSelfModR")
(JMPL, JMPEQ, ADD, SUB, MOV, INIT, INC, JUMP, MOVE, BET,
 INCPROB_L, DECPROB_L, MOVEDIST_L, ENDSELFMOD_L,
 INCPROB_R, DECPROB_R, MOVEDIST_R, ENDSELFMOD_R) = range(18)
N_OPS = len(NAMES)
ARITY = np.array([3, 3, 3, 3, 2, 2, 1, 1, 1, 2, 3, 3, 2, 0, 3, 3, 2, 0], dtype=np.int64)
WIDTH = 4  # cells per instruction slot: the instruction and room for three arguments
BET_OFFSET = 3  # Bet!'s two bets are drawn from column IP + 3 (the slot's last cell)
X_CELL, Y_CELL, SURPRISE_CELL = 0, 1, 2  # state cells the environment and Bet! write
MAX_UNIFORMS = 6  # an instruction draws at most: itself, three arguments, two bets
DX = np.array([1, 0, -1, 0], dtype=np.int64)
DY = np.array([0, 1, 0, -1], dtype=np.int64)

# iregs: the machine's global registers
IP, TIME, N_INSTR, AX, AY, N_GOALS, N_BETS, N_AGREED, N_EQUAL, N_MOVES, N_INVALID = range(11)
FIRST_GOAL = 11  # the time step of the first goal (-1 until then)
N_IREGS = 12
# mregs[k]: module k's self-modification bookkeeping and counters
(MODS_ENABLED, SMS_MODS, EVAL_COUNTDOWN, BLOCK_OPEN, SMS_START, SMS_END, N_MODS, N_REFUSED,
 N_SMS, N_EVALS, N_WINS, N_RESTORED) = range(12)
N_MREGS = 12
# fregs[k]: module k's cumulative reward R, its external and its surprise part
R_CUM, R_EXT, R_SURPRISE = range(3)
N_FREGS = 3
# iparams
(P_M, P_GRID, P_EVAL_DELAY, P_EVAL_MAX_STEPS, P_SMS_MAX_STEPS, P_CURIOUS, P_SSA_ON,
 P_GOAL_X, P_GOAL_Y) = range(9)
N_IPARAMS = 9
# fparams
P_LAMBDA, P_MINP, P_EXT_REWARD = range(3)
N_FPARAMS = 3
# what tb_run returns
EV_DONE, EV_STACK_FULL, EV_NEED_RANDOM = range(3)


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _weight(LR: np.ndarray, k: int, i: int, j: int) -> float:
    """Value ``j``'s weight in row ``i``: module ``k``'s, or both modules' product (``k < 0``)."""
    if k < 0:
        return float(LR[0, i, j] * LR[1, i, j])
    return float(LR[k, i, j])


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _draw(LR: np.ndarray, k: int, i: int, u: float) -> int:
    """Inverse-CDF draw from row ``i``'s weights (:func:`_weight`) normalised (one scan: 1 time
    step). Rounding can leave the target above the last cumulative sum; then the last value with
    positive weight is drawn."""
    n = LR.shape[2]
    total = 0.0
    for j in range(n):
        total += _weight(LR, k, i, j)
    target = u * total
    acc = 0.0
    last = 0
    for j in range(n):
        w = _weight(LR, k, i, j)
        if w > 0.0:
            acc += w
            last = j
            if target < acc:
                return j
    return last


@njit(cache=True, inline='always', **NO_REFCOUNT)
def sample_joint(LR: np.ndarray, i: int, u: float) -> int:
    """Draw from ``LEFT[i] * RIGHT[i]`` normalised: a value with a zero in either module has
    zero weight (the veto)."""
    return _draw(LR, -1, i, u)


@njit(cache=True, inline='always', **NO_REFCOUNT)
def sample_one(LR: np.ndarray, k: int, i: int, u: float) -> int:
    """Draw from module ``k``'s row ``i`` alone, normalised (1 time step)."""
    return _draw(LR, k, i, u)


@njit(cache=True, inline='always', **NO_REFCOUNT)
def wrap(x: int, M: int) -> int:
    """``x`` wrapped into ``-M..M``."""
    return (x + M) % (2 * M + 1) - M


@njit(cache=True, **NO_REFCOUNT)
def tb_evaluate(LR: np.ndarray, k: int, iregs: np.ndarray, mregs: np.ndarray, fregs: np.ndarray,
                iparams: np.ndarray, tags: np.ndarray, entries: np.ndarray,
                counts: np.ndarray) -> None:
    """Module ``k``'s SSA call: pop its blocks until the success-story criterion holds."""
    if iparams[P_SSA_ON] != 0 and counts[k, N_TAGS] > 0:
        restored = ssa_call(tags[k], entries[k], counts[k], LR[k], float(iregs[TIME]),
                            fregs[k, R_CUM], False)
        iregs[TIME] += restored
        mregs[k, N_RESTORED] += restored
    mregs[k, BLOCK_OPEN] = 0
    mregs[k, MODS_ENABLED] = 1
    mregs[k, SMS_MODS] = 0
    mregs[k, EVAL_COUNTDOWN] = 0
    mregs[k, N_EVALS] += 1


@njit(cache=True, **NO_REFCOUNT)
def tb_reward(LR: np.ndarray, k: int, r: float, iregs: np.ndarray, mregs: np.ndarray,
              fregs: np.ndarray, iparams: np.ndarray, tags: np.ndarray, entries: np.ndarray,
              counts: np.ndarray) -> None:
    """Give module ``k`` reward ``r``; a nonzero reward is an event that counts down its
    pending evaluation."""
    fregs[k, R_CUM] += r
    if r != 0.0 and mregs[k, EVAL_COUNTDOWN] > 0:
        mregs[k, EVAL_COUNTDOWN] -= 1
        if mregs[k, EVAL_COUNTDOWN] == 0:
            tb_evaluate(LR, k, iregs, mregs, fregs, iparams, tags, entries, counts)


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _open_sms(k: int, iregs: np.ndarray, mregs: np.ndarray, fregs: np.ndarray,
              iparams: np.ndarray, tags: np.ndarray, counts: np.ndarray) -> None:
    if mregs[k, SMS_MODS] == 0:
        mregs[k, SMS_START] = iregs[TIME]
    if iparams[P_SSA_ON] != 0 and mregs[k, BLOCK_OPEN] == 0:
        ssa_begin_block(tags[k], counts[k], float(iregs[TIME]), fregs[k, R_CUM])
        mregs[k, BLOCK_OPEN] = 1


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _save_row(LR: np.ndarray, k: int, row: int, iregs: np.ndarray, iparams: np.ndarray,
              tags: np.ndarray, entries: np.ndarray, mark: np.ndarray,
              counts: np.ndarray) -> None:
    if iparams[P_SSA_ON] != 0 and ssa_save(tags[k], entries[k], mark[k], counts[k], LR[k],
                                           row) == 1:
        iregs[TIME] += 1  # pushing a row costs one time step


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _end_sms(k: int, iregs: np.ndarray, mregs: np.ndarray, delay: int) -> None:
    if mregs[k, SMS_MODS] > 0 and mregs[k, MODS_ENABLED] != 0:
        mregs[k, MODS_ENABLED] = 0
        mregs[k, EVAL_COUNTDOWN] = max(1, delay)
        mregs[k, SMS_END] = iregs[TIME]
        mregs[k, N_SMS] += 1


@njit(cache=True, **NO_REFCOUNT)
def _self_modify(LR: np.ndarray, k: int, op: int, a1: int, a2: int, a3: int,
                 iregs: np.ndarray, mregs: np.ndarray, fregs: np.ndarray, iparams: np.ndarray,
                 fparams: np.ndarray, tags: np.ndarray, entries: np.ndarray, mark: np.ndarray,
                 counts: np.ndarray) -> None:
    """IncProb (op 0), DecProb (1) or MoveDist (2) on module ``k``'s own values."""
    if mregs[k, MODS_ENABLED] == 0:
        return
    m = LR.shape[1]
    n = LR.shape[2]
    lam = fparams[P_LAMBDA]
    minp = fparams[P_MINP]
    if op == 2:
        n_slots = m // WIDTH
        src = (a1 % n_slots) * WIDTH
        dst = (a2 % n_slots) * WIDTH
        if src == dst:
            return
        _open_sms(k, iregs, mregs, fregs, iparams, tags, counts)
        for r in range(WIDTH):
            _save_row(LR, k, dst + r, iregs, iparams, tags, entries, mark, counts)
            for j in range(n):
                LR[k, dst + r, j] = LR[k, src + r, j]
            iregs[TIME] += 1
        mregs[k, SMS_MODS] += 1
        mregs[k, N_MODS] += 1
        return
    i = (a1 * n + a2) % m
    ok = True
    if op == 0:
        for j in range(n):
            if j != a3 and lam * LR[k, i, j] < minp:
                ok = False
    else:
        ok = lam * LR[k, i, a3] >= minp
    if not ok:
        mregs[k, N_REFUSED] += 1
        return
    _open_sms(k, iregs, mregs, fregs, iparams, tags, counts)
    _save_row(LR, k, i, iregs, iparams, tags, entries, mark, counts)
    if op == 0:  # IncProb: the others shrink by lam, a3 takes the rest
        rest = 0.0
        for j in range(n):
            if j != a3:
                LR[k, i, j] = lam * LR[k, i, j]
                rest += LR[k, i, j]
        LR[k, i, a3] = 1.0 - rest
    else:  # DecProb: a3 shrinks by lam, the others grow to fill the row to 1
        pij = LR[k, i, a3]
        others = 0.0
        for j in range(n):
            if j != a3:
                others += LR[k, i, j]
        scale = (1.0 - lam * pij) / others
        for j in range(n):
            if j == a3:
                LR[k, i, j] = lam * pij
            else:
                LR[k, i, j] = LR[k, i, j] * scale
    iregs[TIME] += 1
    mregs[k, SMS_MODS] += 1
    mregs[k, N_MODS] += 1


@njit(cache=True, **NO_REFCOUNT)
def tb_run(LR: np.ndarray, S: np.ndarray, iregs: np.ndarray, mregs: np.ndarray,
           fregs: np.ndarray, iparams: np.ndarray, fparams: np.ndarray, tags: np.ndarray,
           entries: np.ndarray, mark: np.ndarray, counts: np.ndarray, u: np.ndarray,
           upos: np.ndarray, t_end: int) -> int:
    """Run instructions until ``TIME >= t_end``; return :data:`EV_DONE`, or
    :data:`EV_STACK_FULL` / :data:`EV_NEED_RANDOM` with the state untouched by the instruction
    not yet begun (grow the stacks or refill ``u`` and call again)."""
    m = LR.shape[1]
    n = LR.shape[2]
    ns = S.shape[0]
    M = iparams[P_M]
    G = iparams[P_GRID]
    half = n // 2
    while iregs[TIME] < t_end:
        if upos[0] + MAX_UNIFORMS > u.shape[0]:
            return EV_NEED_RANDOM
        if iparams[P_SSA_ON] != 0 and not (ssa_free(tags[0], entries[0], counts[0], WIDTH)
                                           and ssa_free(tags[1], entries[1], counts[1], WIDTH)):
            return EV_STACK_FULL
        for k in range(2):
            # an SMS open too long is ended; an evaluation that waited too long happens now
            if (mregs[k, SMS_MODS] > 0 and mregs[k, MODS_ENABLED] != 0
                    and iregs[TIME] - mregs[k, SMS_START] > iparams[P_SMS_MAX_STEPS]):
                _end_sms(k, iregs, mregs, iparams[P_EVAL_DELAY])
            if (mregs[k, EVAL_COUNTDOWN] > 0
                    and iregs[TIME] - mregs[k, SMS_END] >= iparams[P_EVAL_MAX_STEPS]):
                tb_evaluate(LR, k, iregs, mregs, fregs, iparams, tags, entries, counts)
        ip = iregs[IP]
        op = sample_joint(LR, ip, u[upos[0]])
        upos[0] += 1
        iregs[TIME] += 1
        a1 = 0
        a2 = 0
        a3 = 0
        na = ARITY[op]
        for a in range(na):
            cell = (ip + 1 + a) % m
            v = sample_joint(LR, cell, u[upos[0]])
            upos[0] += 1
            iregs[TIME] += 1
            if a == 0:
                a1 = v
            elif a == 1:
                a2 = v
            else:
                a3 = v
        iregs[N_INSTR] += 1
        iregs[IP] = (ip + WIDTH) % m
        if op == JMPL:
            if S[a1 % ns] < S[a2 % ns]:
                iregs[IP] = (a3 * WIDTH) % m
        elif op == JMPEQ:
            if S[a1 % ns] == S[a2 % ns]:
                iregs[IP] = (a3 * WIDTH) % m
        elif op == ADD:
            S[a3 % ns] = wrap(S[a1 % ns] + S[a2 % ns], M)
        elif op == SUB:
            S[a3 % ns] = wrap(S[a1 % ns] - S[a2 % ns], M)
        elif op == MOV:
            S[a2 % ns] = S[a1 % ns]
        elif op == INIT:
            S[a1 % ns] = wrap(a2 - half, M)
        elif op == INC:
            S[a1 % ns] = wrap(S[a1 % ns] + 1, M)
        elif op == JUMP:
            iregs[IP] = (a1 * WIDTH) % m
        elif op == MOVE:
            d = a1 % 4
            x = iregs[AX] + DX[d]
            y = iregs[AY] + DY[d]
            if 0 <= x < G and 0 <= y < G:
                iregs[AX] = x
                iregs[AY] = y
            iregs[N_MOVES] += 1
            if iregs[AX] == iparams[P_GOAL_X] and iregs[AY] == iparams[P_GOAL_Y]:
                iregs[N_GOALS] += 1
                if iregs[FIRST_GOAL] < 0:
                    iregs[FIRST_GOAL] = iregs[TIME]
                iregs[AX] = 0
                iregs[AY] = 0
                half_r = 0.5 * fparams[P_EXT_REWARD]
                for k in range(2):
                    fregs[k, R_EXT] += half_r
                    tb_reward(LR, k, half_r, iregs, mregs, fregs, iparams, tags, entries,
                              counts)
            S[X_CELL] = wrap(iregs[AX], M)
            S[Y_CELL] = wrap(iregs[AY], M)
        elif op == BET:
            col = (ip + BET_OFFSET) % m
            c = 1 if sample_one(LR, LEFT, col, u[upos[0]]) > half else -1
            d = 1 if sample_one(LR, RIGHT, col, u[upos[0] + 1]) > half else -1
            upos[0] += 2
            iregs[TIME] += 2
            if c == d:
                iregs[N_AGREED] += 1
            else:
                iregs[N_BETS] += 1
                equal = S[a1 % ns] == S[a2 % ns]
                if equal:
                    iregs[N_EQUAL] += 1
                left = c if equal else -c  # LEFT's surprise reward; RIGHT gets its negative
                mregs[LEFT if left > 0 else RIGHT, N_WINS] += 1
                if iparams[P_CURIOUS] != 0:
                    fregs[LEFT, R_SURPRISE] += left
                    fregs[RIGHT, R_SURPRISE] -= left
                    tb_reward(LR, LEFT, float(left), iregs, mregs, fregs, iparams, tags,
                              entries, counts)
                    tb_reward(LR, RIGHT, float(-left), iregs, mregs, fregs, iparams, tags,
                              entries, counts)
                S[SURPRISE_CELL % ns] = c
        elif op == ENDSELFMOD_L:
            _end_sms(LEFT, iregs, mregs, iparams[P_EVAL_DELAY])
        elif op == ENDSELFMOD_R:
            _end_sms(RIGHT, iregs, mregs, iparams[P_EVAL_DELAY])
        elif op >= INCPROB_L:
            k = LEFT if op < INCPROB_R else RIGHT
            _self_modify(LR, k, op - (INCPROB_L if k == LEFT else INCPROB_R), a1, a2, a3,
                         iregs, mregs, fregs, iparams, fparams, tags, entries, mark, counts)
        else:
            iregs[N_INVALID] += 1
    return EV_DONE


@dataclass(frozen=True)
class TwoBrainsParams:
    """The machine's and its world's constants (defaults: ours; see docs/curiosity.md)."""

    n_cols: int = 64  # m columns per module, a multiple of WIDTH
    n_state: int = 8  # cells of S (arguments address them mod n_state)
    M: int = 8  # S's values lie in -M..M
    grid: int = 6  # the agent's world: grid x grid cells, start (0, 0), goal at the far corner
    ext_reward: float = 1.0  # paid on the goal, split equally between the modules
    lam: float = 0.3  # IncProb / DecProb step (the SMP's)
    minp: float = 0.004  # MinP guard (below 1 / N_OPS)
    eval_delay: int = 1  # reward events of a module between its SMS's end and its SSA call
    eval_max_steps: int = 2**62  # an evaluation waits at most this long for its events
    sms_max_steps: int = 1_000_000  # an SMS open longer is ended as if by EndSelfMod
    curious: bool = True  # Bet! pays the surprise rewards (False: the SSA-only baseline)
    ssa: bool = True

    def validate(self) -> None:
        if self.n_cols < WIDTH or self.n_cols % WIDTH:
            raise ValueError(f"n_cols must be a positive multiple of {WIDTH}")
        if self.n_state < 3 or self.M < 1 or self.grid < 2:
            raise ValueError("n_state >= 3, M >= 1 and grid >= 2 required")
        if not 0.0 < self.lam < 1.0 or not 0.0 < self.minp < 1.0 / N_OPS:
            raise ValueError(f"lam in (0, 1) and minp in (0, 1/{N_OPS}) required")
        if self.eval_delay < 1 or self.eval_max_steps < 1 or self.sms_max_steps < 1:
            raise ValueError("eval_delay, eval_max_steps and sms_max_steps must be >= 1")
        if self.ext_reward < 0:
            raise ValueError("ext_reward must be >= 0")

    def iparams(self) -> np.ndarray:
        p = np.zeros(N_IPARAMS, dtype=np.int64)
        p[P_M], p[P_GRID] = self.M, self.grid
        p[P_EVAL_DELAY], p[P_EVAL_MAX_STEPS] = self.eval_delay, self.eval_max_steps
        p[P_SMS_MAX_STEPS] = self.sms_max_steps
        p[P_CURIOUS], p[P_SSA_ON] = int(self.curious), int(self.ssa)
        p[P_GOAL_X] = p[P_GOAL_Y] = self.grid - 1
        return p

    def fparams(self) -> np.ndarray:
        return np.array([self.lam, self.minp, self.ext_reward])


class TwoBrains:
    """The two modules, their state, their SSA stacks and their world; advanced in time steps.

    ``rng`` is the machine's one random stream; its uniforms are drawn ``PIECE`` at a time into
    a buffer that the compiled loop reads (refilled only when an instruction needs more than is
    left, so slicing a life into calls of :meth:`advance` never changes it).
    """

    PIECE = 1 << 16

    def __init__(self, params: TwoBrainsParams, rng: np.random.Generator) -> None:
        params.validate()
        self.params, self.rng = params, rng
        m = params.n_cols
        self.LR = np.full((2, m, N_OPS), 1.0 / N_OPS)
        self.S = np.zeros(params.n_state, dtype=np.int64)
        self.iregs = np.zeros(N_IREGS, dtype=np.int64)
        self.iregs[FIRST_GOAL] = -1
        self.mregs = np.zeros((2, N_MREGS), dtype=np.int64)
        self.mregs[:, MODS_ENABLED] = 1
        self.fregs = np.zeros((2, N_FREGS))
        self.tags = np.zeros((2, AGENT_TAG_CAPACITY, TAG_WIDTH))
        self.entries = np.zeros((2, AGENT_ENTRY_CAPACITY, 1 + N_OPS))
        self.mark = np.full((2, m), -1, dtype=np.int64)
        self.counts = np.zeros((2, N_COUNTS), dtype=np.int64)
        self.iparams, self.fparams = params.iparams(), params.fparams()
        self.u = np.zeros(0)
        self.upos = np.zeros(1, dtype=np.int64)

    @property
    def time(self) -> int:
        return int(self.iregs[TIME])

    @property
    def goals(self) -> int:
        return int(self.iregs[N_GOALS])

    def _refill(self) -> None:
        tail = self.u[self.upos[0]:]
        self.u = np.concatenate([tail, self.rng.random(self.PIECE)])
        self.upos[0] = 0

    def _grow(self) -> None:
        t = np.zeros((2, 2 * self.tags.shape[1], TAG_WIDTH))
        t[:, : self.tags.shape[1]] = self.tags
        e = np.zeros((2, 2 * self.entries.shape[1], self.entries.shape[2]))
        e[:, : self.entries.shape[1]] = self.entries
        self.tags, self.entries = t, e

    def advance(self, steps: int) -> None:
        """Run until ``steps`` more time steps have passed (the last instruction may overrun)."""
        self.run_until(self.time + int(steps))

    def run_until(self, t_end: int) -> None:
        """Run until the time is ``t_end`` or more (a life cut into calls at the same ends runs
        as in one call)."""
        while True:
            ev = tb_run(self.LR, self.S, self.iregs, self.mregs, self.fregs, self.iparams,
                        self.fparams, self.tags, self.entries, self.mark, self.counts, self.u,
                        self.upos, t_end)
            if ev == EV_DONE:
                return
            if ev == EV_NEED_RANDOM:
                self._refill()
            else:
                self._grow()

    def joint(self) -> np.ndarray:
        """``Q``: the instruction probabilities of every column (LEFT * RIGHT, normalised)."""
        w = self.LR[0] * self.LR[1]
        return w / w.sum(axis=1, keepdims=True)

    def stats(self) -> dict[str, Any]:
        i, mr, f = self.iregs, self.mregs, self.fregs
        return {
            "time": int(i[TIME]), "instructions": int(i[N_INSTR]), "goals": int(i[N_GOALS]),
            "first_goal": int(i[FIRST_GOAL]),
            "moves": int(i[N_MOVES]), "bets": int(i[N_BETS]), "bets_agreed": int(i[N_AGREED]),
            "bets_equal": int(i[N_EQUAL]),
            "R": [float(f[k, R_CUM]) for k in range(2)],
            "surprise": [float(f[k, R_SURPRISE]) for k in range(2)],
            "wins": [int(mr[k, N_WINS]) for k in range(2)],
            "mods": [int(mr[k, N_MODS]) for k in range(2)],
            "evals": [int(mr[k, N_EVALS]) for k in range(2)],
            "blocks": [int(self.counts[k, N_TAGS]) for k in range(2)],
        }

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "LR": self.LR, "S": self.S,
                "iregs": self.iregs, "mregs": self.mregs, "fregs": self.fregs,
                "u": self.u[self.upos[0]:].copy(),
                **agent_stacks_state(self.tags, self.entries, self.mark, self.counts)}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        restore_generator(self.rng, st["rng"])
        self.LR = np.array(st["LR"], dtype=np.float64)
        self.S = np.array(st["S"], dtype=np.int64)
        self.iregs = np.array(st["iregs"], dtype=np.int64)
        self.mregs = np.array(st["mregs"], dtype=np.int64)
        self.fregs = np.array(st["fregs"], dtype=np.float64)
        self.u = np.array(st["u"], dtype=np.float64)
        self.upos = np.zeros(1, dtype=np.int64)
        self.tags, self.entries, self.mark, self.counts = restore_agent_stacks(st, 1 + N_OPS)
