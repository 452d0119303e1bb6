"""The OOPS machine's fast interpreter (numba): one token at a time, exactly as the original ran.

Schmidhuber, "Optimal Ordered Problem Solver", Machine Learning 54:211-254 (2004), App. A; the
semantics are those of the experiment program that produced the paper's numbers (see
docs/oops.md). ``step`` executes the token at the current task's instruction pointer:

1. read token ``z(ip)`` (from code ``q`` if ip > 0, else from the task's tape);
2. count it: ``insts += 1``, ``t += 1``, ``totalt += 1``;
3. in quote mode push its number onto ds (a ``qot`` ends quote mode), else run it;
4. unless it jumped or called, ``ip += 1`` in the (possibly new) current frame.

An illegal operation sets ``halt`` (with a reason code) and returns from the innermost helper, as
the original's ``stop`` did; the rest of the instruction still runs, which can matter for the time
counters (e.g. ``boostq`` on an empty stack still charges and boosts ``old[7]``). Every tape write
goes through :func:`wr`, which records the cell's old value on the undo stack ``S`` the first
time it changes after the current search slot opened (the mark array), so that ``Try`` can
restore every tape exactly on backtracking.

The same source runs as plain Python with ``NUMBA_DISABLE_JIT=1``; an independently written
reference lives in :mod:`metahook.machines.forth.reference`.

State, all preallocated numpy arrays: ``R`` int64 registers (indices ``R_*`` below), ``F`` float64
registers (``F_P`` prefix probability, ``F_TP`` = T*P), ``tape`` (flat, see layout), ``mark``,
``S`` undo stack (rows: flat index, old value), ``qQ`` code tokens, ``OLD`` frozen programs (rows:
start, size).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from metahook.machines.forth import instructions as ins
from metahook.machines.forth.layout import (
    ACP,
    ACURP,
    ADDP,
    ADP,
    AENDPATS,
    AENDSTACK,
    AENV,
    AFNP,
    AMIN,
    APATP,
    AQUOTEFLAG,
    ATASK,
    DSIZE,
    MAXCP,
    MAXDP,
    MAXFN,
    MAXINT,
    MAXPAT,
    MININT,
    NSQ,
)

# ---------------------------------------------------------------- registers
R_T = 0  # time limit T of the current search round
R_TIME = 1  # t: time used by the current prefix, over all tasks of the ring
R_TOTALT = 2  # totalt: all time steps since the start
R_INSTS = 3  # insts: tokens executed since the start
R_SP = 4  # undo stack pointer Sp
R_SCAP = 5  # undo stack capacity
R_HALT = 6
R_WHY = 7  # reason code of the first halt (H_*)
R_JUMPED = 8
R_PUSHEN = 9  # record changes on the undo stack?
R_TASK = 10  # current task (tape)
R_ROW = 11  # task * ROW
R_QP = 12  # top of code
R_OLDP = 13  # number of frozen programs
R_NQS = 14  # valid token numbers 1..nQs
R_TOPT = 15  # longest run seen (refreshed when t > 2 topt)
R_TOPSP = 16  # undo stack high-water mark (refreshed when Sp > 2 topSp)
R_PREFS = 17  # prefixes tested
R_UNSOLVED = 18
R_ANCHOR = 19  # list of solved tasks
R_AFROZEN = 20
R_ALAST = 21
R_ACURRENT = 22
R_NDECL = 23  # declared programs (7)
R_NSQS = 24  # tokens in the search set (73)
R_UPSQ = 25  # boost amount (n_Q = 73)
R_GOAL = 26  # task kind: 0 none, 1 1^n2^n, 2 Hanoi
R_DONE = 27
R_EVENT = 28  # runner: why it stopped (E_*)
NREG = 32
F_P = 0
F_TP = 1
NFREG = 4

# ---------------------------------------------------------------- halt reasons
H_NONE = 0
H_UNDERFLOW = 1  # pop or read of an empty stack
H_OVERFLOW = 2  # push onto a full stack
H_RANGE = 3  # value outside [MININT, MAXINT]
H_INDEX = 4  # stack index out of range
H_COPY = 5  # copy out of bounds
H_TIME = 6  # an n-step instruction would exceed the time limit
H_DIVZERO = 7
H_FUNCTION = 8  # no such self-made function, or the function table is full
H_OLD = 9  # no such frozen program
H_DEPTH = 10  # call stack full
H_RETMAIN = 11  # ret in the main frame
H_RETCOUNT = 12  # ret: more outputs requested than cells on ds
H_MOVE = 13  # illegal Hanoi move
H_PEG = 14  # bad peg number
H_TOKEN = 15  # exec of an invalid token number
H_PATTERN = 16  # no such search pattern
H_PROB = 17  # decQ would leave fewer than two tokens
H_UNDOFULL = 18  # undo stack full
H_SCAN = 19  # a scan ran off the tapes' memory
HALT_REASONS = (
    "none", "stack underflow", "stack overflow", "value out of range", "stack index out of range",
    "copy out of bounds", "time limit (n-step instruction)", "division by zero",
    "no such function", "no such frozen program", "call stack full", "ret in main frame",
    "ret: too few cells", "illegal Hanoi move", "bad peg", "exec of invalid token",
    "no such search pattern", "decQ would leave < 2 tokens", "undo stack full",
    "scan ran off memory",
)

QOT = ins.T_QOT
EXEC = ins.T_EXEC
FIRST_DECL = ins.FIRST_DECLARED
N_EXT_LAST = ins.N_EXTENDED
DECL_IN = np.array([d.decl_in for d in ins.DECLARED], dtype=np.int64)
DECL_OUT = np.array([d.decl_out for d in ins.DECLARED], dtype=np.int64)


def declared_starts() -> np.ndarray:
    """Start addresses of the declared programs in q (written from address 1 upward)."""
    starts, a = [], 1
    for d in ins.DECLARED:
        starts.append(a)
        a += len(d.body)
    return np.array(starts, dtype=np.int64)


DECL_START = declared_starts()


# ---------------------------------------------------------------- tape access
@njit(cache=True, inline="always")
def stop(R, why):
    R[R_HALT] = 1
    if R[R_WHY] == 0:
        R[R_WHY] = why


@njit(cache=True, inline="always")
def rd(R, tape, a):
    """Content of address a (<= 0) of the current task's tape."""
    return tape[R[R_ROW] - a]


@njit(cache=True, inline="always")
def wr(R, tape, mark, S, a, val):
    """set(a, val): write a tape cell, recording its old value once per search slot."""
    i = R[R_ROW] - a
    if tape[i] == val:
        return
    if R[R_PUSHEN] != 0:
        sp = R[R_SP]
        if sp >= R[R_SCAP]:
            stop(R, H_UNDOFULL)
        elif mark[i] == 0:
            sp += 1
            R[R_SP] = sp
            S[sp, 0] = i
            S[sp, 1] = tape[i]
            mark[i] = 1
    tape[i] = val


@njit(cache=True, inline="always")
def z(R, tape, qQ, a):
    """Token or value at any address: code q for a > 0, else the current tape."""
    if a <= 0:
        return tape[R[R_ROW] - a]
    return qQ[a]


@njit(cache=True, inline="always")
def get_dp(R, tape):
    return tape[R[R_ROW] - ADP]


@njit(cache=True, inline="always")
def frame(R, tape, k):
    """C(k): cell k of the top call-stack frame (1 ip, 2 base, 3 out)."""
    return tape[R[R_ROW] - (ACP + k + tape[R[R_ROW] - ACP])]


@njit(cache=True, inline="always")
def set_frame(R, tape, mark, S, k, val):
    if val > MAXINT or val < MININT:
        stop(R, H_RANGE)
        return
    wr(R, tape, mark, S, ACP + tape[R[R_ROW] - ACP] + k, val)


# ---------------------------------------------------------------- stacks
@njit(cache=True, inline="always")
def push(R, tape, mark, S, x):
    y = get_dp(R, tape) + 1
    if y > MAXDP:
        stop(R, H_OVERFLOW)
        return
    if x < MININT or x > MAXINT:
        stop(R, H_RANGE)
        return
    wr(R, tape, mark, S, ADP, y)
    wr(R, tape, mark, S, ADP + y, x)


@njit(cache=True, inline="always")
def pop(R, tape, mark, S):
    d = get_dp(R, tape)
    if d == 0:
        stop(R, H_UNDERFLOW)
        return 0
    wr(R, tape, mark, S, ADP, d - 1)
    return tape[R[R_ROW] - (ADP + d)]


@njit(cache=True, inline="always")
def top(R, tape):
    d = get_dp(R, tape)
    if d == 0:
        stop(R, H_UNDERFLOW)
        return 0
    return tape[R[R_ROW] - (ADP + d)]


@njit(cache=True, inline="always")
def ds(R, tape, n):
    """ds[n], any n in 0..MAXDP (ds[0] is the cell holding dp)."""
    if n < 0 or n > MAXDP:
        stop(R, H_INDEX)
        return 0
    return tape[R[R_ROW] - (ADP + n)]


@njit(cache=True, inline="always")
def push_D(R, tape, mark, S, x):
    d = tape[R[R_ROW] - ADDP]
    if d == MAXDP:
        stop(R, H_OVERFLOW)
        return
    if x < MININT or x > MAXINT:
        stop(R, H_RANGE)
        return
    wr(R, tape, mark, S, ADDP, d + 1)
    wr(R, tape, mark, S, ADDP + d + 1, x)


@njit(cache=True, inline="always")
def top_D(R, tape):
    d = tape[R[R_ROW] - ADDP]
    if d == 0:
        stop(R, H_UNDERFLOW)
        return 0
    return tape[R[R_ROW] - (ADDP + d)]


# ---------------------------------------------------------------- time
@njit(cache=True, inline="always")
def tncheck(R, F, n):
    """Charge n extra steps, or halt if that would exceed T*P."""
    if n < 0 or float(R[R_TIME] + n) > F[F_TP]:
        stop(R, H_TIME)
        return False
    R[R_TIME] += n
    R[R_TOTALT] += n
    return True


@njit(cache=True)
def cpabn(R, F, tape, mark, S, qQ, a, b, n, lo, hi):
    """Copy n cells from address a (code or tape) to tape address b, within [lo, hi)."""
    qp = R[R_QP]
    if n < 0 or a < AMIN or a > qp or a + n < AMIN or a + n > qp or b < lo or b + n > hi:
        stop(R, H_COPY)
        return
    if a == b:
        return
    if not tncheck(R, F, n):
        return
    if b < a:
        for k in range(n):
            wr(R, tape, mark, S, b + k, z(R, tape, qQ, a + k))
    else:
        for k in range(n - 1, -1, -1):
            wr(R, tape, mark, S, b + k, z(R, tape, qQ, a + k))


# ---------------------------------------------------------------- calls
@njit(cache=True)
def pushblock(R, tape, mark, S, m, n):
    """Open a call frame: base below the m topmost cells (caller's base if m < 0), out = n."""
    i = tape[R[R_ROW] - ACP]
    a = frame(R, tape, 2)
    j = get_dp(R, tape)
    if m > j:
        stop(R, H_UNDERFLOW)
        return
    i += 3
    if i + 3 > MAXCP:
        stop(R, H_DEPTH)
        return
    wr(R, tape, mark, S, ACP, i)
    if m < 0:
        set_frame(R, tape, mark, S, 2, a)
    else:
        set_frame(R, tape, mark, S, 2, j - m)
    set_frame(R, tape, mark, S, 3, n)
    R[R_JUMPED] = 1


@njit(cache=True)
def calla(R, tape, mark, S, m, n, a):
    pushblock(R, tape, mark, S, m, n)
    set_frame(R, tape, mark, S, 1, a)


@njit(cache=True)
def down(R, F, tape, mark, S, n, a):
    """Move the top n cells of ds down to start at ds[a+1]; dp := a+n."""
    i = get_dp(R, tape) - n + 1
    if i == a:
        return
    if a > i:
        stop(R, H_RETCOUNT)
        return
    wr(R, tape, mark, S, ADP, a + n)
    dst = a + ADP + 1
    src = i + ADP
    if not tncheck(R, F, n):
        return
    while n > 0:
        wr(R, tape, mark, S, dst, rd(R, tape, src))
        n -= 1
        src += 1
        dst += 1


@njit(cache=True)
def ret(R, F, tape, mark, S):
    i = tape[R[R_ROW] - ACP]
    n = frame(R, tape, 3)
    if i < 1:
        stop(R, H_RETMAIN)
        return
    if n > get_dp(R, tape):
        stop(R, H_RETCOUNT)
        return
    if n >= 0:
        down(R, F, tape, mark, S, n, frame(R, tape, 2))
    wr(R, tape, mark, S, ACP, i - 3)


# ---------------------------------------------------------------- search patterns
@njit(cache=True, inline="always")
def poff(R, tape):
    return ACURP + tape[R[R_ROW] - ACURP] * (NSQ + 2)


@njit(cache=True, inline="always")
def psum(R, tape):
    return tape[R[R_ROW] - (poff(R, tape) + 1)]


@njit(cache=True, inline="always")
def pmax(R, tape):
    return tape[R[R_ROW] - (poff(R, tape) + 2)]


@njit(cache=True, inline="always")
def pn(R, tape, i):
    return tape[R[R_ROW] - (poff(R, tape) + 2 + i)]


@njit(cache=True)
def add_to_sq(R, tape, mark, S, i, val):
    """Raise token i's numerator (and the denominator) by val."""
    if val < 1 or i > R[R_NSQS] or i < 1:
        return
    x = psum(R, tape) + val
    if x > MAXINT:
        return
    o = poff(R, tape)
    wr(R, tape, mark, S, o + 1, x)
    x = pn(R, tape, i) + val
    wr(R, tape, mark, S, o + 2 + i, x)
    if x > pmax(R, tape):
        wr(R, tape, mark, S, o + 2, x)


@njit(cache=True)
def second_max(R, tape):
    """The program's 'second highest numerator' scan (used when a maximum is lowered)."""
    n = poff(R, tape) + 2
    x = pmax(R, tape)
    m = n
    s = 0
    end = n + R[R_NSQS]
    while True:
        n += 1
        k = R[R_ROW] - n
        if k < 0:
            stop(R, H_SCAN)
            return 0
        if tape[k] == x:
            break
    while True:
        m += 1
        v = tape[R[R_ROW] - m]
        if s < v and m != n:
            s = v
        if not (s < x and m < end):
            break
    return s


# ---------------------------------------------------------------- Hanoi
@njit(cache=True)
def move_disk(R, tape, mark, S, a, b):
    pa = AENV + (a - 1) * DSIZE
    pb = AENV + (b - 1) * DSIZE
    topa = rd(R, tape, pa)
    if topa == 0:
        stop(R, H_MOVE)
        return
    topb = rd(R, tape, pb)
    if topb > 0 and rd(R, tape, pb + topb) < rd(R, tape, pa + topa):
        stop(R, H_MOVE)
        return
    topb += 1
    wr(R, tape, mark, S, pb, topb)
    wr(R, tape, mark, S, pb + topb, rd(R, tape, pa + topa))
    wr(R, tape, mark, S, pa + topa, 0)
    wr(R, tape, mark, S, pa, topa - 1)


@njit(cache=True)
def xmn_core(R, tape, mark, S):
    m = pop(R, tape, mark, S)
    n = pop(R, tape, mark, S)
    d = get_dp(R, tape)
    m = d - m + 1
    n = d - n + 1
    if m < 1 or m > MAXDP or n < 1 or n > MAXDP:
        stop(R, H_INDEX)
        return
    x = ds(R, tape, m)
    wr(R, tape, mark, S, ADP + m, ds(R, tape, n))
    wr(R, tape, mark, S, ADP + n, x)


@njit(cache=True, inline="always")
def ctrunc_div(a, b):
    """C's integer division (truncation toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


# ---------------------------------------------------------------- one token
@njit(cache=True)
def exec_token(R, F, tape, mark, S, qQ, OLD, tok):
    """Run token ``tok`` (1..nQs) on the current task's tape (not in quote mode)."""
    while tok == EXEC:
        k = pop(R, tape, mark, S)
        if k < 1 or k > R[R_NQS]:
            stop(R, H_TOKEN)
            return
        tok = k
    if tok >= 58:
        if tok <= 63:  # c0..c5
            push(R, tape, mark, S, tok - 58)
        elif tok == 65:  # qot
            wr(R, tape, mark, S, AQUOTEFLAG, 1)
        elif tok == 66:  # nop
            pass
        elif tok < FIRST_DECL + 7:  # declared programs
            k = tok - FIRST_DECL
            calla(R, tape, mark, S, DECL_IN[k], DECL_OUT[k], DECL_START[k])
        else:
            exec_extension(R, F, tape, mark, S, tok)
        return
    if tok >= 32:
        if tok == 32:  # ret
            ret(R, F, tape, mark, S)
        elif tok == 33:  # rt0
            if 0 >= pop(R, tape, mark, S):
                ret(R, F, tape, mark, S)
        elif tok == 34:  # neg
            x = pop(R, tape, mark, S)
            push(R, tape, mark, S, 1 if x == 0 else -x)
        elif tok == 35:  # eq
            a = pop(R, tape, mark, S)
            b = pop(R, tape, mark, S)
            push(R, tape, mark, S, 1 if a == b else 0)
        elif tok == 36:  # grt: top > second
            a = pop(R, tape, mark, S)
            b = pop(R, tape, mark, S)
            push(R, tape, mark, S, 1 if a > b else 0)
        elif tok == 37:  # clear
            wr(R, tape, mark, S, ADP, 0)
        elif tok == 38:  # del
            d = get_dp(R, tape)
            if d == 0:
                stop(R, H_UNDERFLOW)
                return
            wr(R, tape, mark, S, ADP, d - 1)
        elif tok == 39:  # up
            push(R, tape, mark, S, top(R, tape))
        elif tok == 40:  # ex
            m = get_dp(R, tape)
            if m < 2:
                stop(R, H_UNDERFLOW)
                return
            x = ds(R, tape, m)
            wr(R, tape, mark, S, ADP + m, ds(R, tape, m - 1))
            wr(R, tape, mark, S, ADP + m - 1, x)
        elif tok == 41:  # jmp1
            if pop(R, tape, mark, S) > 0:
                set_frame(R, tape, mark, S, 1, pop(R, tape, mark, S))
                R[R_JUMPED] = 1
        elif tok == 42:  # outn
            n = pop(R, tape, mark, S)
            push(R, tape, mark, S, ds(R, tape, get_dp(R, tape) - n + 1))
        elif tok == 43:  # inn
            n = pop(R, tape, mark, S)
            n = get_dp(R, tape) - n + 1
            if n < 1 or n > MAXDP:
                stop(R, H_INDEX)
                return
            wr(R, tape, mark, S, ADP + n, top(R, tape))
        elif tok == 44:  # cpn
            n = pop(R, tape, mark, S)
            if n < 0:
                stop(R, H_INDEX)
                return
            i = get_dp(R, tape)
            j = i + n
            if j > MAXDP:
                stop(R, H_OVERFLOW)
                return
            wr(R, tape, mark, S, ADP, j)
            j += ADP
            i += ADP
            if not tncheck(R, F, n):
                return
            while n > 0:
                wr(R, tape, mark, S, j, rd(R, tape, i))
                n -= 1
                i -= 1
                j -= 1
        elif tok == 45:  # xmn
            xmn_core(R, tape, mark, S)
        elif tok == 46:  # outb
            n = pop(R, tape, mark, S)
            push(R, tape, mark, S, ds(R, tape, frame(R, tape, 2) + n))
        elif tok == 47:  # innb
            n = pop(R, tape, mark, S)
            n = frame(R, tape, 2) + n
            if n < 1 or n > MAXDP:
                stop(R, H_INDEX)
                return
            wr(R, tape, mark, S, ADP + n, top(R, tape))
        elif tok == 48:  # cpnb
            n = pop(R, tape, mark, S)
            cpabn(R, F, tape, mark, S, qQ, ADP + frame(R, tape, 2) + 1,
                  ADP + get_dp(R, tape) + 1, n, ADP + 1, AENDSTACK)
            wr(R, tape, mark, S, ADP, get_dp(R, tape) + n)
        elif tok == 49:  # xmnb
            m = pop(R, tape, mark, S)
            n = pop(R, tape, mark, S)
            b = frame(R, tape, 2)
            m = b + m
            n = b + n
            if m < 1 or m > MAXDP or n < 1 or n > MAXDP:
                stop(R, H_INDEX)
                return
            x = ds(R, tape, m)
            wr(R, tape, mark, S, ADP + m, ds(R, tape, n))
            wr(R, tape, mark, S, ADP + n, x)
        elif tok == 50:  # ip2ds
            push(R, tape, mark, S, frame(R, tape, 1))
        elif tok == 51:  # pip
            set_frame(R, tape, mark, S, 1, pop(R, tape, mark, S))
        elif tok == 52:  # pushdp
            push(R, tape, mark, S, get_dp(R, tape) + 1)
        elif tok == 53:  # setdp
            a = pop(R, tape, mark, S)
            if a < 0 or a > MAXDP:
                stop(R, H_INDEX)
                return
            wr(R, tape, mark, S, ADP, a)
        elif tok == 54:  # toD
            push_D(R, tape, mark, S, pop(R, tape, mark, S))
        elif tok == 55:  # fromD
            push(R, tape, mark, S, top_D(R, tape))
        elif tok == 56:  # delD
            d = tape[R[R_ROW] - ADDP]
            if d == 0:
                stop(R, H_UNDERFLOW)
                return
            wr(R, tape, mark, S, ADDP, d - 1)
        else:  # 57 tsk
            push(R, tape, mark, S, rd(R, tape, ATASK))
        return
    if tok >= 16:
        if tok == 16:  # getq
            a = pop(R, tape, mark, S)
            if a < 0 or a > R[R_OLDP]:
                stop(R, H_OLD)
                return
            n = OLD[a, 1]
            cpabn(R, F, tape, mark, S, qQ, OLD[a, 0], ADP + 1 + get_dp(R, tape), n, ADP + 1,
                  AENDSTACK)
            wr(R, tape, mark, S, ADP, get_dp(R, tape) + n)
        elif tok == 17:  # insq
            b = pop(R, tape, mark, S)
            a = pop(R, tape, mark, S)
            m = get_dp(R, tape) - frame(R, tape, 2) - b
            if a < 0 or a > R[R_OLDP] or b < 0 or m < 0:
                stop(R, H_OLD)
                return
            n = OLD[a, 1]
            b += ADP + frame(R, tape, 2) + 1
            cpabn(R, F, tape, mark, S, qQ, b, b + n, m, ADP + 1, AENDSTACK)
            cpabn(R, F, tape, mark, S, qQ, OLD[a, 0], b, n, ADP + 1, AENDSTACK)
            wr(R, tape, mark, S, ADP, get_dp(R, tape) + n)
        elif tok == 18:  # findb
            k = pop(R, tape, mark, S)
            i = frame(R, tape, 2) + 1
            row = R[R_ROW]
            while True:
                c = row - (ADP + i)
                if c < 0:  # ran off the tapes' memory: reads as zeros from here on
                    if k != 0 and float(R[R_TIME]) < F[F_TP]:
                        s = int(math.ceil(F[F_TP])) - R[R_TIME]
                        i += s
                        R[R_TIME] += s
                        R[R_TOTALT] += s
                    break
                if tape[c] == k or not (float(R[R_TIME]) < F[F_TP]):
                    break
                i += 1
                R[R_TIME] += 1
                R[R_TOTALT] += 1
            push(R, tape, mark, S, i)
        elif tok == 19:  # incQ
            add_to_sq(R, tape, mark, S, top(R, tape), 1)
        elif tok == 20:  # decQ
            i = top(R, tape)
            if i > R[R_NSQS] or i < 1:
                return
            x = pn(R, tape, i)
            if x == 0:
                return
            y = psum(R, tape)
            zz = pmax(R, tape)
            if x == 1 and y <= zz + 1:
                stop(R, H_PROB)
                return
            if x == zz:
                wr(R, tape, mark, S, poff(R, tape) + 2, second_max(R, tape))
            o = poff(R, tape)
            wr(R, tape, mark, S, o + 2 + i, x - 1)
            wr(R, tape, mark, S, o + 1, y - 1)
        elif tok == 21:  # pushpat: the program reads the pointer's address, not its value
            i = APATP
            if i > MAXPAT:
                stop(R, H_PATTERN)
                return
            i += 1
            wr(R, tape, mark, S, APATP, i)
            cpabn(R, F, tape, mark, S, qQ, poff(R, tape) + 1, ACURP + 1 + i * (2 + NSQ), 2 + NSQ,
                  ACURP + 1, AENDPATS)
        elif tok == 22:  # setpat
            i = pop(R, tape, mark, S)
            if i < 0 or i > rd(R, tape, APATP):
                stop(R, H_PATTERN)
                return
            wr(R, tape, mark, S, ACURP, i)
        elif tok == 23:  # insn
            b = pop(R, tape, mark, S)
            n = pop(R, tape, mark, S)
            a = pop(R, tape, mark, S)
            m = get_dp(R, tape) - frame(R, tape, 2) - b
            if b < 0 or m < 0 or n < 1:
                stop(R, H_INDEX)
                return
            b += ADP + frame(R, tape, 2) + 1
            a += ADP + frame(R, tape, 2)
            cpabn(R, F, tape, mark, S, qQ, b, b + n, m, ADP + 1, AENDSTACK)
            cpabn(R, F, tape, mark, S, qQ, a, b, n, ADP + 1, AENDSTACK)
            wr(R, tape, mark, S, ADP, get_dp(R, tape) + n)
        elif tok == 24:  # mvn
            b = pop(R, tape, mark, S)
            n = pop(R, tape, mark, S)
            a = pop(R, tape, mark, S)
            m = frame(R, tape, 2) + ADP
            cpabn(R, F, tape, mark, S, qQ, m + a, m + b, n, ADP + 1, AENDSTACK)
            a = b + n - 1
            if a > get_dp(R, tape):
                wr(R, tape, mark, S, ADP, a)
        elif tok == 25:  # deln
            n = pop(R, tape, mark, S)
            m = pop(R, tape, mark, S)
            if m < 0 or n < 0:
                stop(R, H_INDEX)
                return
            b = frame(R, tape, 2)
            m += ADP + b
            cpabn(R, F, tape, mark, S, qQ, m + n + 1, m + 1, get_dp(R, tape) - b - n, ADP + 1,
                  AENDSTACK)
            wr(R, tape, mark, S, ADP, get_dp(R, tape) - n)
        elif tok == 26:  # intpf
            n = rd(R, tape, AFNP)
            if n < 1:
                stop(R, H_FUNCTION)
                return
            push(R, tape, mark, S, rd(R, tape, AFNP + 3 * n - 2))
        elif tok == 27:  # def
            i = 1 + rd(R, tape, AFNP)
            if i > MAXFN:
                stop(R, H_FUNCTION)
                return
            wr(R, tape, mark, S, AFNP, i)
            i = 3 * i + AFNP
            wr(R, tape, mark, S, i, frame(R, tape, 1) + 1)
            wr(R, tape, mark, S, i - 1, pop(R, tape, mark, S))
            wr(R, tape, mark, S, i - 2, pop(R, tape, mark, S))
        elif tok == 28:  # topf
            push(R, tape, mark, S, rd(R, tape, AFNP))
        elif tok == 29:  # dof
            n = pop(R, tape, mark, S)
            if n < 1 or n > rd(R, tape, AFNP):
                stop(R, H_FUNCTION)
                return
            n = AFNP + 3 * n
            pushblock(R, tape, mark, S, rd(R, tape, n - 2), rd(R, tape, n - 1))
            set_frame(R, tape, mark, S, 1, rd(R, tape, n))
        elif tok == 30:  # oldq
            a = pop(R, tape, mark, S)
            if a < 0 or a > R[R_OLDP]:
                stop(R, H_OLD)
                return
            pushblock(R, tape, mark, S, 0, 0)
            set_frame(R, tape, mark, S, 1, OLD[a, 0])
        else:  # 31 bsjmp
            v = frame(R, tape, 2) + ADP
            v += pop(R, tape, mark, S)
            set_frame(R, tape, mark, S, 1, v)
        return
    if tok <= 2:  # 1toD, 2toD
        push_D(R, tape, mark, S, tok)
    elif tok == 3:  # mvdsk
        b = frame(R, tape, 2)
        a = ds(R, tape, b + 1)
        c = ds(R, tape, b + 3)
        if a < 1 or a > 3 or c < 1 or c > 3 or a == c:
            stop(R, H_PEG)
            return
        move_disk(R, tape, mark, S, a, c)
    elif tok == 4:  # xAD
        push(R, tape, mark, S, 2)
        push(R, tape, mark, S, 3)
        xmn_core(R, tape, mark, S)
    elif tok == 5:  # xSA
        push(R, tape, mark, S, 3)
        push(R, tape, mark, S, 4)
        xmn_core(R, tape, mark, S)
    elif tok == 6:  # bsf
        v = frame(R, tape, 2) + ADP
        v += pop(R, tape, mark, S) + 1
        calla(R, tape, mark, S, -1, -1, v)
    elif tok == 7:  # boostq
        a = pop(R, tape, mark, S) + R[R_NDECL]
        if a < 0 or a > R[R_OLDP]:
            stop(R, H_OLD)
            return
        n = OLD[a, 1]
        a = OLD[a, 0]
        if not tncheck(R, F, n):
            return
        up = R[R_UPSQ]
        for i in range(a, a + n):
            add_to_sq(R, tape, mark, S, qQ[i], up)
    elif tok == 8:  # add
        a = pop(R, tape, mark, S)
        b = pop(R, tape, mark, S)
        push(R, tape, mark, S, a + b)
    elif tok == 9:  # mul
        a = pop(R, tape, mark, S)
        b = pop(R, tape, mark, S)
        push(R, tape, mark, S, a * b)
    elif tok == 10:  # powr
        n = pop(R, tape, mark, S)
        m = pop(R, tape, mark, S)
        if m <= 1:
            push(R, tape, mark, S, 1)
            return
        i = m
        while n > 1 and MININT < i and i < MAXINT:
            i *= m
            n -= 1
        push(R, tape, mark, S, i)
    elif tok == 11:  # sub
        x = pop(R, tape, mark, S)
        push(R, tape, mark, S, pop(R, tape, mark, S) - x)
    elif tok == 12:  # div
        x = pop(R, tape, mark, S)
        if x == 0:
            stop(R, H_DIVZERO)
            return
        push(R, tape, mark, S, ctrunc_div(pop(R, tape, mark, S), x))
    elif tok == 13:  # inc
        push(R, tape, mark, S, pop(R, tape, mark, S) + 1)
    elif tok == 14:  # dec
        push(R, tape, mark, S, pop(R, tape, mark, S) - 1)
    else:  # 15 by2
        push(R, tape, mark, S, pop(R, tape, mark, S) * 2)


@njit(cache=True)
def exec_extension(R, F, tape, mark, S, tok):
    """Tokens 74..87: appendix instructions the original program did not register."""
    if tok == 74 or tok == 75 or tok == 76:  # geq, and, or
        a = pop(R, tape, mark, S)
        b = pop(R, tape, mark, S)
        if tok == 74:
            r = a >= b
        elif tok == 75:
            r = a > 0 and b > 0
        else:
            r = a > 0 or b > 0
        push(R, tape, mark, S, 1 if r else 0)
    elif tok == 77:  # not
        push(R, tape, mark, S, 1 if pop(R, tape, mark, S) <= 0 else 0)
    elif tok == 78:  # base
        push(R, tape, mark, S, frame(R, tape, 2))
    elif tok == 79:  # outopf
        n = rd(R, tape, AFNP)
        if n < 1:
            stop(R, H_FUNCTION)
            return
        push(R, tape, mark, S, rd(R, tape, AFNP + 3 * n - 1))
    elif tok == 80:  # popf
        i = rd(R, tape, AFNP)
        if i == 0:
            stop(R, H_FUNCTION)
            return
        push(R, tape, mark, S, i)
        wr(R, tape, mark, S, AFNP, i - 1)
    elif tok == 81:  # find
        k = pop(R, tape, mark, S)
        i = get_dp(R, tape)
        while i > 0 and rd(R, tape, i + ADP) != k and float(R[R_TIME]) < F[F_TP]:
            i -= 1
            R[R_TIME] += 1
            R[R_TOTALT] += 1
        push(R, tape, mark, S, i)
    elif tok == 82:  # rt1
        if 0 < pop(R, tape, mark, S):
            ret(R, F, tape, mark, S)
    elif tok == 83:  # half
        push(R, tape, mark, S, ctrunc_div(pop(R, tape, mark, S), 2))
    elif tok == 84:  # rem
        x = pop(R, tape, mark, S)
        if x == 0:
            stop(R, H_DIVZERO)
            return
        a = pop(R, tape, mark, S)
        push(R, tape, mark, S, a - ctrunc_div(a, x) * x)
    elif tok == 85:  # stf
        set_frame(R, tape, mark, S, 1, pop(R, tape, mark, S) + ADP)
    elif tok == 86:  # basef
        set_frame(R, tape, mark, S, 1, frame(R, tape, 2) + ADP)
    elif tok == 87:  # poppat
        i = rd(R, tape, APATP)
        if i == 0:
            stop(R, H_PATTERN)
            return
        wr(R, tape, mark, S, APATP, i - 1)
        push(R, tape, mark, S, i)
    else:
        stop(R, H_TOKEN)


@njit(cache=True)
def ip_ok(R, tape, qQ):
    """Is the current task's ip a valid address holding a valid token number?"""
    a = frame(R, tape, 1)
    if a < AMIN or a > R[R_QP]:
        return False
    v = z(R, tape, qQ, a)
    return 1 <= v <= R[R_NQS]


@njit(cache=True)
def step(R, F, tape, mark, S, qQ, OLD):
    """Execute one token of the current task (the original's onestep, without the goal test)."""
    n = z(R, tape, qQ, frame(R, tape, 1))
    t = R[R_TIME]
    if t > 2 * R[R_TOPT]:
        R[R_TOPT] = t
    if R[R_SP] > 2 * R[R_TOPSP]:
        R[R_TOPSP] = R[R_SP]
    R[R_JUMPED] = 0
    R[R_INSTS] += 1
    R[R_TIME] = t + 1
    R[R_TOTALT] += 1
    if rd(R, tape, AQUOTEFLAG) == 1:
        if n == QOT:
            wr(R, tape, mark, S, AQUOTEFLAG, 0)
        else:
            push(R, tape, mark, S, n)
    else:
        exec_token(R, F, tape, mark, S, qQ, OLD, n)
    if R[R_JUMPED] == 0:
        set_frame(R, tape, mark, S, 1, frame(R, tape, 1) + 1)
