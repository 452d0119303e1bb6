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

State: two preallocated numpy arrays. ``M`` (int64) holds, at fixed offsets, the registers
(``M[R_*]``), the code ``q`` and its search slots (``Q0``, ``QSP0``, ``QLAST0``, ``QSQ0``,
``QT0``), the frozen-program list (``OLD0``: start, size), the task ring (``LNEXT0``,
``LPREV0``), all task tapes (``TAPE0``; the current tape's address a is ``M[M[R_ROW] - a]``),
their marks (``MARK0``: the mark of cell ``M[i]`` is ``M[i + MOFF]``) and, last, the undo stack
(``S0``: pairs of flat index and old value). The ring, tapes and marks have room for
``MAX_TAPES`` tapes, so that every offset is a constant of the compiled code whatever the number
of tapes (``M[R_NTAPES]``, the original's 30 by default); the room of unused tapes is zero-filled
address space that no page of memory backs until it is written (``np.zeros``), and
:meth:`metahook.search.levin.SearchState.state_dict` saves only the tapes in use. ``F``
(float64) holds the prefix probability ``F_P``, ``T*P`` (``F_TP``) and the slots' probabilities
(``QPP0``: token, ``QPPP0``: prefix before it). Compiled entry
points pass both to the helpers as raw pointers (:mod:`.pointers`) and the helpers are
force-inlined: no call or reference-counting overhead remains in the interpreter loop. numba's
cache does not see changes of inlined code; :mod:`.cachecheck` drops stale entries.
"""

from __future__ import annotations

import math
from typing import NamedTuple

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
    AMAX,
    AMIN,
    APATP,
    AQUOTEFLAG,
    ATASK,
    DSIZE,
    MAX_TAPES,
    MAXCP,
    MAXDP,
    MAXFN,
    MAXINT,
    MAXPAT,
    MAXTASK,
    MININT,
    NSQ,
    ROW,
)
from metahook.machines.forth.tokens import (
    T_2TOD,
    T_ADD,
    T_AND,
    T_BASE,
    T_BASEF,
    T_BOOSTQ,
    T_BSF,
    T_C0,
    T_C5,
    T_CLEAR,
    T_CPN,
    T_CPNB,
    T_DEC,
    T_DECQ,
    T_DEF,
    T_DEL,
    T_DELD,
    T_DELN,
    T_DIV,
    T_DOF,
    T_EQ,
    T_EX,
    T_FIND,
    T_FINDB,
    T_FROMD,
    T_GEQ,
    T_GETQ,
    T_GRT,
    T_HALF,
    T_INC,
    T_INCQ,
    T_INN,
    T_INNB,
    T_INSN,
    T_INSQ,
    T_INTPF,
    T_IP2DS,
    T_JMP1,
    T_MUL,
    T_MVDSK,
    T_MVN,
    T_NEG,
    T_NOP,
    T_NOT,
    T_OLDQ,
    T_OR,
    T_OUTB,
    T_OUTN,
    T_OUTOPF,
    T_PIP,
    T_POPF,
    T_POPPAT,
    T_POWR,
    T_PUSHDP,
    T_PUSHPAT,
    T_QOT,
    T_REM,
    T_RET,
    T_RT0,
    T_RT1,
    T_SETDP,
    T_SETPAT,
    T_STF,
    T_SUB,
    T_TOD,
    T_TOPF,
    T_UP,
    T_XAD,
    T_XMN,
    T_XMNB,
    T_XSA,
)

# ---------------------------------------------------------------- registers (M[0:NREG])
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
R_ROW = 11  # TAPE0 + task * ROW: M[M[R_ROW] - a] is address a of the current tape
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
R_EVENT = 28  # runner: why it stopped
R_MOVES = 29  # Hanoi disks moved (counted for checkers; not part of the tape)
R_OFFMEM = 30  # scans that ran off the tapes (undefined behaviour in the original; see docs)
R_MAXT = 31  # largest t at the end of a prefix run (parallel search: resolves topt)
R_MAXSP = 32  # largest Sp at the end of a prefix run (resolves topSp)
R_NTAPES = 33  # number of task tapes in use (rows 1..n_tapes; at most MAX_TAPES)
NREG = 64

# ---------------------------------------------------------------- memory map of M and F
Q0 = NREG  # q[a].Q: the token at code address a
QSP0 = Q0 + AMAX + 2  # slot a: undo-stack pointer when the slot opened
QLAST0 = QSP0 + AMAX + 2  # slot a: solved-task list when it opened
QSQ0 = QLAST0 + AMAX + 2  # slot a: index of the candidate being tried
QT0 = QSQ0 + AMAX + 2  # slot a: t when it opened
OLD0 = QT0 + AMAX + 2  # frozen program k: M[OLD0 + 2k] start, M[OLD0 + 2k + 1] size
LNEXT0 = OLD0 + 2 * (AMAX + 1)  # task list: next
LPREV0 = LNEXT0 + MAX_TAPES + 2  # task list: prev
TAPE0 = LPREV0 + MAX_TAPES + 2  # the tapes: row r, address a at M[TAPE0 + r * ROW - a]
NCELLS = (MAX_TAPES + 1) * ROW  # room for the tapes (row 0 unused)
MARK0 = TAPE0 + NCELLS
MOFF = MARK0 - TAPE0  # mark of tape cell M[i] is M[i + MOFF]
S0 = MARK0 + NCELLS  # undo stack entry k (1..cap): M[S0 + 2k] index, M[S0 + 2k + 1] old value


def memory_size(stack_capacity: int) -> int:
    return S0 + 2 * (stack_capacity + 1)


def tape_cells(n_tapes: int) -> int:
    """Cells of the tapes 0..n_tapes (from TAPE0, and from MARK0 for their marks)."""
    if not 1 <= n_tapes <= MAX_TAPES:
        raise ValueError(f"n_tapes must be in 1..{MAX_TAPES}, got {n_tapes}")
    return (n_tapes + 1) * ROW


class LegacyMap(NamedTuple):
    """Offsets of the memory map before the number of tapes was a parameter (30 tapes first,
    code after them); checkpoints written then are converted on loading."""

    tape0: int = NREG
    ncells: int = (MAXTASK + 1) * ROW
    mark0: int = NREG + (MAXTASK + 1) * ROW
    q0: int = NREG + 2 * (MAXTASK + 1) * ROW
    lnext0: int = NREG + 2 * (MAXTASK + 1) * ROW + (LNEXT0 - Q0)
    lprev0: int = NREG + 2 * (MAXTASK + 1) * ROW + (LNEXT0 - Q0) + MAXTASK + 2
    s0: int = NREG + 2 * (MAXTASK + 1) * ROW + (LNEXT0 - Q0) + 2 * (MAXTASK + 2)


LEGACY = LegacyMap()


F_P = 0  # probability P of the current prefix
F_TP = 1  # T * P
QPP0 = 4  # slot a: probability of its token
QPPP0 = QPP0 + AMAX + 2  # slot a: probability of the prefix before it
NF = QPPP0 + AMAX + 2

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
@njit(cache=True, forceinline=True)
def stop(M, why):
    M[R_HALT] = 1
    if M[R_WHY] == 0:
        M[R_WHY] = why


@njit(cache=True, forceinline=True)
def rd(M, a):
    """Content of address a (<= 0) of the current task's tape."""
    return M[M[R_ROW] - a]


@njit(cache=True, forceinline=True)
def wr(M, a, val):
    """set(a, val): write a tape cell, recording its old value once per search slot."""
    i = M[R_ROW] - a
    if M[i] == val:
        return
    if M[R_PUSHEN] != 0:
        sp = M[R_SP]
        if sp >= M[R_SCAP]:
            stop(M, H_UNDOFULL)
        elif M[i + MOFF] == 0:
            sp += 1
            M[R_SP] = sp
            M[S0 + 2 * sp] = i
            M[S0 + 2 * sp + 1] = M[i]
            M[i + MOFF] = 1
    M[i] = val


@njit(cache=True, forceinline=True)
def restore_cells(M, ptr):
    """Undo the writes recorded above undo-stack entry ``ptr``, newest first (a cell recorded
    at several slot levels ends with its oldest value), clearing their marks; Sp := ptr."""
    sp = M[R_SP]
    while sp > ptr:
        i = M[S0 + 2 * sp]
        M[i + MOFF] = 0
        M[i] = M[S0 + 2 * sp + 1]
        sp -= 1
    M[R_SP] = sp


@njit(cache=True, forceinline=True)
def z(M, a):
    """Token or value at any address: code q for a > 0, else the current tape."""
    if a <= 0:
        return M[M[R_ROW] - a]
    return M[Q0 + a]


@njit(cache=True, forceinline=True)
def get_dp(M):
    return M[M[R_ROW] - ADP]


@njit(cache=True, forceinline=True)
def frame(M, k):
    """C(k): cell k of the top call-stack frame (1 ip, 2 base, 3 out)."""
    return M[M[R_ROW] - (ACP + k + M[M[R_ROW] - ACP])]


@njit(cache=True, forceinline=True)
def set_frame(M, k, val):
    if val > MAXINT or val < MININT:
        stop(M, H_RANGE)
        return
    wr(M, ACP + M[M[R_ROW] - ACP] + k, val)


# ---------------------------------------------------------------- stacks
@njit(cache=True, forceinline=True)
def push(M, x):
    y = get_dp(M) + 1
    if y > MAXDP:
        stop(M, H_OVERFLOW)
        return
    if x < MININT or x > MAXINT:
        stop(M, H_RANGE)
        return
    wr(M, ADP, y)
    wr(M, ADP + y, x)


@njit(cache=True, forceinline=True)
def pop(M):
    d = get_dp(M)
    v = top(M)  # halts on an empty stack
    if d > 0:
        wr(M, ADP, d - 1)
    return v


@njit(cache=True, forceinline=True)
def top(M):
    d = get_dp(M)
    if d == 0:
        stop(M, H_UNDERFLOW)
        return 0
    return M[M[R_ROW] - (ADP + d)]


@njit(cache=True, forceinline=True)
def ds(M, n):
    """ds[n], any n in 0..MAXDP (ds[0] is the cell holding dp)."""
    if n < 0 or n > MAXDP:
        stop(M, H_INDEX)
        return 0
    return M[M[R_ROW] - (ADP + n)]


@njit(cache=True, forceinline=True)
def push_D(M, x):
    d = M[M[R_ROW] - ADDP]
    if d == MAXDP:
        stop(M, H_OVERFLOW)
        return
    if x < MININT or x > MAXINT:
        stop(M, H_RANGE)
        return
    wr(M, ADDP, d + 1)
    wr(M, ADDP + d + 1, x)


@njit(cache=True, forceinline=True)
def top_D(M):
    d = M[M[R_ROW] - ADDP]
    if d == 0:
        stop(M, H_UNDERFLOW)
        return 0
    return M[M[R_ROW] - (ADDP + d)]


# ---------------------------------------------------------------- time
@njit(cache=True, forceinline=True)
def tncheck(M, F, n):
    """Charge n extra steps, or halt if that would exceed T*P."""
    if n < 0 or float(M[R_TIME] + n) > F[F_TP]:
        stop(M, H_TIME)
        return False
    M[R_TIME] += n
    M[R_TOTALT] += n
    return True


@njit(cache=True)
def cpabn(M, F, a, b, n, lo, hi):
    """Copy n cells from address a (code or tape) to tape address b, within [lo, hi)."""
    qp = M[R_QP]
    if n < 0 or a < AMIN or a > qp or a + n < AMIN or a + n > qp or b < lo or b + n > hi:
        stop(M, H_COPY)
        return
    if a == b:
        return
    if not tncheck(M, F, n):
        return
    if b < a:
        for k in range(n):
            wr(M, b + k, z(M, a + k))
    else:
        for k in range(n - 1, -1, -1):
            wr(M, b + k, z(M, a + k))


# ---------------------------------------------------------------- calls
@njit(cache=True, forceinline=True)
def pushblock(M, m, n):
    """Open a call frame: base below the m topmost cells (caller's base if m < 0), out = n."""
    i = M[M[R_ROW] - ACP]
    a = frame(M, 2)
    j = get_dp(M)
    if m > j:
        stop(M, H_UNDERFLOW)
        return
    i += 3
    if i + 3 > MAXCP:
        stop(M, H_DEPTH)
        return
    wr(M, ACP, i)
    if m < 0:
        set_frame(M, 2, a)
    else:
        set_frame(M, 2, j - m)
    set_frame(M, 3, n)
    M[R_JUMPED] = 1


@njit(cache=True, forceinline=True)
def calla(M, m, n, a):
    pushblock(M, m, n)
    set_frame(M, 1, a)


@njit(cache=True, forceinline=True)
def down(M, F, n, a):
    """Move the top n cells of ds down to start at ds[a+1]; dp := a+n."""
    i = get_dp(M) - n + 1
    if i == a:
        return
    if a > i:
        stop(M, H_RETCOUNT)
        return
    wr(M, ADP, a + n)
    dst = a + ADP + 1
    src = i + ADP
    if not tncheck(M, F, n):
        return
    while n > 0:
        wr(M, dst, rd(M, src))
        n -= 1
        src += 1
        dst += 1


@njit(cache=True, forceinline=True)
def ret(M, F):
    i = M[M[R_ROW] - ACP]
    n = frame(M, 3)
    if i < 1:
        stop(M, H_RETMAIN)
        return
    if n > get_dp(M):
        stop(M, H_RETCOUNT)
        return
    if n >= 0:
        down(M, F, n, frame(M, 2))
    wr(M, ACP, i - 3)


# ---------------------------------------------------------------- search patterns
@njit(cache=True, forceinline=True)
def poff(M):
    return ACURP + M[M[R_ROW] - ACURP] * (NSQ + 2)


@njit(cache=True, forceinline=True)
def psum(M):
    return M[M[R_ROW] - (poff(M) + 1)]


@njit(cache=True, forceinline=True)
def pmax(M):
    return M[M[R_ROW] - (poff(M) + 2)]


@njit(cache=True, forceinline=True)
def pn(M, i):
    return M[M[R_ROW] - (poff(M) + 2 + i)]


@njit(cache=True)
def add_to_sq(M, i, val):
    """Raise token i's numerator (and the denominator) by val."""
    if val < 1 or i > M[R_NSQS] or i < 1:
        return
    x = psum(M) + val
    if x > MAXINT:
        return
    o = poff(M)
    wr(M, o + 1, x)
    x = pn(M, i) + val
    wr(M, o + 2 + i, x)
    if x > pmax(M):
        wr(M, o + 2, x)


@njit(cache=True)
def second_max(M):
    """The program's 'second highest numerator' scan (used when a maximum is lowered)."""
    n = poff(M) + 2
    x = pmax(M)
    m = n
    s = 0
    end = n + M[R_NSQS]
    while True:
        n += 1
        k = M[R_ROW] - n
        if k < TAPE0:
            M[R_OFFMEM] += 1
            stop(M, H_SCAN)
            return 0
        if M[k] == x:
            break
    while True:
        m += 1
        v = M[M[R_ROW] - m]
        if s < v and m != n:
            s = v
        if not (s < x and m < end):
            break
    return s


# ---------------------------------------------------------------- Hanoi
@njit(cache=True)
def move_disk(M, a, b):
    pa = AENV + (a - 1) * DSIZE
    pb = AENV + (b - 1) * DSIZE
    topa = rd(M, pa)
    if topa == 0:
        stop(M, H_MOVE)
        return
    topb = rd(M, pb)
    if topb > 0 and rd(M, pb + topb) < rd(M, pa + topa):
        stop(M, H_MOVE)
        return
    topb += 1
    wr(M, pb, topb)
    wr(M, pb + topb, rd(M, pa + topa))
    wr(M, pa + topa, 0)
    wr(M, pa, topa - 1)
    M[R_MOVES] += 1


@njit(cache=True, forceinline=True)
def copy_top_to(M, n):
    """Copy the top of the data stack into cell ``n`` (1-based); halt if ``n`` is out of range."""
    if n < 1 or n > MAXDP:
        stop(M, H_INDEX)
        return
    wr(M, ADP + n, top(M))


@njit(cache=True, forceinline=True)
def swap_ds(M, m, n):
    """Exchange data-stack cells ``m`` and ``n`` (1-based); halt if either is out of range."""
    if m < 1 or m > MAXDP or n < 1 or n > MAXDP:
        stop(M, H_INDEX)
        return
    x = ds(M, m)
    wr(M, ADP + m, ds(M, n))
    wr(M, ADP + n, x)


@njit(cache=True)
def xmn_core(M):
    m = pop(M)
    n = pop(M)
    d = get_dp(M)
    swap_ds(M, d - m + 1, d - n + 1)


@njit(cache=True, forceinline=True)
def ctrunc_div(a, b):
    """C's integer division (truncation toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


# ---------------------------------------------------------------- one token
@njit(cache=True, forceinline=True)
def push_top_function_field(M, back):
    """Push a field of the newest function-table entry (3 cells each; ``back`` cells from its
    end: 2 = number of inputs, 1 = number of outputs); halt if the table is empty."""
    n = rd(M, AFNP)
    if n < 1:
        stop(M, H_FUNCTION)
        return
    push(M, rd(M, AFNP + 3 * n - back))


@njit(cache=True, forceinline=True)
def exec_token(M, F, tok):
    """Run token ``tok`` (1..nQs) on the current task's tape (not in quote mode)."""
    while tok == EXEC:
        k = pop(M)
        if k < 1 or k > M[R_NQS]:
            stop(M, H_TOKEN)
            return
        tok = k
    if tok >= T_C0:
        if tok <= T_C5:  # c0..c5
            push(M, tok - 58)
        elif tok == T_QOT:
            wr(M, AQUOTEFLAG, 1)
        elif tok == T_NOP:
            pass
        elif tok < FIRST_DECL + 7:  # declared programs
            k = tok - FIRST_DECL
            calla(M, DECL_IN[k], DECL_OUT[k], DECL_START[k])
        else:
            exec_extension(M, F, tok)
        return
    if tok >= T_RET:
        if tok == T_RET:
            ret(M, F)
        elif tok == T_RT0:
            if pop(M) <= 0:
                ret(M, F)
        elif tok == T_NEG:
            x = pop(M)
            push(M, 1 if x == 0 else -x)
        elif tok == T_EQ:
            a = pop(M)
            b = pop(M)
            push(M, 1 if a == b else 0)
        elif tok == T_GRT:  # top > second
            a = pop(M)
            b = pop(M)
            push(M, 1 if a > b else 0)
        elif tok == T_CLEAR:
            wr(M, ADP, 0)
        elif tok == T_DEL:
            d = get_dp(M)
            if d == 0:
                stop(M, H_UNDERFLOW)
                return
            wr(M, ADP, d - 1)
        elif tok == T_UP:
            push(M, top(M))
        elif tok == T_EX:
            m = get_dp(M)
            if m < 2:
                stop(M, H_UNDERFLOW)
                return
            x = ds(M, m)
            wr(M, ADP + m, ds(M, m - 1))
            wr(M, ADP + m - 1, x)
        elif tok == T_JMP1:
            if pop(M) > 0:
                set_frame(M, 1, pop(M))
                M[R_JUMPED] = 1
        elif tok == T_OUTN:
            n = pop(M)
            push(M, ds(M, get_dp(M) - n + 1))
        elif tok == T_INN:
            n = pop(M)
            copy_top_to(M, get_dp(M) - n + 1)
        elif tok == T_CPN:
            n = pop(M)
            if n < 0:
                stop(M, H_INDEX)
                return
            i = get_dp(M)
            j = i + n
            if j > MAXDP:
                stop(M, H_OVERFLOW)
                return
            wr(M, ADP, j)
            j += ADP
            i += ADP
            if not tncheck(M, F, n):
                return
            while n > 0:
                wr(M, j, rd(M, i))
                n -= 1
                i -= 1
                j -= 1
        elif tok == T_XMN:
            xmn_core(M)
        elif tok == T_OUTB:
            n = pop(M)
            push(M, ds(M, frame(M, 2) + n))
        elif tok == T_INNB:
            n = pop(M)
            copy_top_to(M, frame(M, 2) + n)
        elif tok == T_CPNB:
            n = pop(M)
            cpabn(M, F, ADP + frame(M, 2) + 1,
                  ADP + get_dp(M) + 1, n, ADP + 1, AENDSTACK)
            wr(M, ADP, get_dp(M) + n)
        elif tok == T_XMNB:
            m = pop(M)
            n = pop(M)
            b = frame(M, 2)
            swap_ds(M, b + m, b + n)
        elif tok == T_IP2DS:
            push(M, frame(M, 1))
        elif tok == T_PIP:
            set_frame(M, 1, pop(M))
        elif tok == T_PUSHDP:
            push(M, get_dp(M) + 1)
        elif tok == T_SETDP:
            a = pop(M)
            if a < 0 or a > MAXDP:
                stop(M, H_INDEX)
                return
            wr(M, ADP, a)
        elif tok == T_TOD:
            push_D(M, pop(M))
        elif tok == T_FROMD:
            push(M, top_D(M))
        elif tok == T_DELD:
            d = M[M[R_ROW] - ADDP]
            if d == 0:
                stop(M, H_UNDERFLOW)
                return
            wr(M, ADDP, d - 1)
        else:  # 57 tsk
            push(M, rd(M, ATASK))
        return
    if tok >= T_GETQ:
        if tok == T_GETQ:
            a = pop(M)
            if a < 0 or a > M[R_OLDP]:
                stop(M, H_OLD)
                return
            n = M[OLD0 + 2 * a + 1]
            cpabn(M, F, M[OLD0 + 2 * a], ADP + 1 + get_dp(M), n, ADP + 1,
                  AENDSTACK)
            wr(M, ADP, get_dp(M) + n)
        elif tok == T_INSQ:
            b = pop(M)
            a = pop(M)
            m = get_dp(M) - frame(M, 2) - b
            if a < 0 or a > M[R_OLDP] or b < 0 or m < 0:
                stop(M, H_OLD)
                return
            n = M[OLD0 + 2 * a + 1]
            b += ADP + frame(M, 2) + 1
            cpabn(M, F, b, b + n, m, ADP + 1, AENDSTACK)
            cpabn(M, F, M[OLD0 + 2 * a], b, n, ADP + 1, AENDSTACK)
            wr(M, ADP, get_dp(M) + n)
        elif tok == T_FINDB:
            k = pop(M)
            i = frame(M, 2) + 1
            row = M[R_ROW]
            while True:
                c = row - (ADP + i)
                if c < TAPE0:  # ran off the tapes' memory: reads as zeros from here on
                    M[R_OFFMEM] += 1
                    if k != 0 and float(M[R_TIME]) < F[F_TP]:
                        s = math.ceil(F[F_TP]) - M[R_TIME]
                        i += s
                        M[R_TIME] += s
                        M[R_TOTALT] += s
                    break
                if M[c] == k or not (float(M[R_TIME]) < F[F_TP]):
                    break
                i += 1
                M[R_TIME] += 1
                M[R_TOTALT] += 1
            push(M, i)
        elif tok == T_INCQ:
            add_to_sq(M, top(M), 1)
        elif tok == T_DECQ:
            i = top(M)
            if i > M[R_NSQS] or i < 1:
                return
            x = pn(M, i)
            if x == 0:
                return
            y = psum(M)
            zz = pmax(M)
            if x == 1 and y <= zz + 1:
                stop(M, H_PROB)
                return
            if x == zz:
                wr(M, poff(M) + 2, second_max(M))
            o = poff(M)
            wr(M, o + 2 + i, x - 1)
            wr(M, o + 1, y - 1)
        elif tok == T_PUSHPAT:  # the program reads the pointer's address, not its value
            i = APATP
            if i > MAXPAT:
                stop(M, H_PATTERN)
                return
            i += 1
            wr(M, APATP, i)
            cpabn(M, F, poff(M) + 1, ACURP + 1 + i * (2 + NSQ), 2 + NSQ,
                  ACURP + 1, AENDPATS)
        elif tok == T_SETPAT:
            i = pop(M)
            if i < 0 or i > rd(M, APATP):
                stop(M, H_PATTERN)
                return
            wr(M, ACURP, i)
        elif tok == T_INSN:
            b = pop(M)
            n = pop(M)
            a = pop(M)
            m = get_dp(M) - frame(M, 2) - b
            if b < 0 or m < 0 or n < 1:
                stop(M, H_INDEX)
                return
            b += ADP + frame(M, 2) + 1
            a += ADP + frame(M, 2)
            cpabn(M, F, b, b + n, m, ADP + 1, AENDSTACK)
            cpabn(M, F, a, b, n, ADP + 1, AENDSTACK)
            wr(M, ADP, get_dp(M) + n)
        elif tok == T_MVN:
            b = pop(M)
            n = pop(M)
            a = pop(M)
            m = frame(M, 2) + ADP
            cpabn(M, F, m + a, m + b, n, ADP + 1, AENDSTACK)
            a = b + n - 1
            if a > get_dp(M):
                wr(M, ADP, a)
        elif tok == T_DELN:
            n = pop(M)
            m = pop(M)
            if m < 0 or n < 0:
                stop(M, H_INDEX)
                return
            b = frame(M, 2)
            m += ADP + b
            cpabn(M, F, m + n + 1, m + 1, get_dp(M) - b - n, ADP + 1,
                  AENDSTACK)
            wr(M, ADP, get_dp(M) - n)
        elif tok == T_INTPF:
            push_top_function_field(M, 2)
        elif tok == T_DEF:
            i = 1 + rd(M, AFNP)
            if i > MAXFN:
                stop(M, H_FUNCTION)
                return
            wr(M, AFNP, i)
            i = 3 * i + AFNP
            wr(M, i, frame(M, 1) + 1)
            wr(M, i - 1, pop(M))
            wr(M, i - 2, pop(M))
        elif tok == T_TOPF:
            push(M, rd(M, AFNP))
        elif tok == T_DOF:
            n = pop(M)
            if n < 1 or n > rd(M, AFNP):
                stop(M, H_FUNCTION)
                return
            n = AFNP + 3 * n
            pushblock(M, rd(M, n - 2), rd(M, n - 1))
            set_frame(M, 1, rd(M, n))
        elif tok == T_OLDQ:
            a = pop(M)
            if a < 0 or a > M[R_OLDP]:
                stop(M, H_OLD)
                return
            pushblock(M, 0, 0)
            set_frame(M, 1, M[OLD0 + 2 * a])
        else:  # 31 bsjmp
            v = frame(M, 2) + ADP
            v += pop(M)
            set_frame(M, 1, v)
        return
    if tok <= T_2TOD:  # 1toD, 2toD
        push_D(M, tok)
    elif tok == T_MVDSK:
        b = frame(M, 2)
        a = ds(M, b + 1)
        c = ds(M, b + 3)
        if a < 1 or a > 3 or c < 1 or c > 3 or a == c:
            stop(M, H_PEG)
            return
        move_disk(M, a, c)
    elif tok == T_XAD:
        push(M, 2)
        push(M, 3)
        xmn_core(M)
    elif tok == T_XSA:
        push(M, 3)
        push(M, 4)
        xmn_core(M)
    elif tok == T_BSF:
        v = frame(M, 2) + ADP
        v += pop(M) + 1
        calla(M, -1, -1, v)
    elif tok == T_BOOSTQ:
        a = pop(M) + M[R_NDECL]
        if a < 0 or a > M[R_OLDP]:
            stop(M, H_OLD)
            return
        n = M[OLD0 + 2 * a + 1]
        a = M[OLD0 + 2 * a]
        if not tncheck(M, F, n):
            return
        up = M[R_UPSQ]
        for i in range(a, a + n):
            add_to_sq(M, M[Q0 + i], up)
    elif tok == T_ADD:
        a = pop(M)
        b = pop(M)
        push(M, a + b)
    elif tok == T_MUL:
        a = pop(M)
        b = pop(M)
        push(M, a * b)
    elif tok == T_POWR:
        n = pop(M)
        m = pop(M)
        if m <= 1:
            push(M, 1)
            return
        i = m
        while n > 1 and i > MININT and i < MAXINT:
            i *= m
            n -= 1
        push(M, i)
    elif tok == T_SUB:
        x = pop(M)
        push(M, pop(M) - x)
    elif tok == T_DIV:
        x = pop(M)
        if x == 0:
            stop(M, H_DIVZERO)
            return
        push(M, ctrunc_div(pop(M), x))
    elif tok == T_INC:
        push(M, pop(M) + 1)
    elif tok == T_DEC:
        push(M, pop(M) - 1)
    else:  # 15 by2
        push(M, pop(M) * 2)


@njit(cache=True)
def exec_extension(M, F, tok):
    """Tokens 74..87: appendix instructions the original program did not register."""
    if T_GEQ <= tok <= T_OR:  # geq, and, or
        a = pop(M)
        b = pop(M)
        if tok == T_GEQ:
            r = a >= b
        elif tok == T_AND:
            r = a > 0 and b > 0
        else:
            r = a > 0 or b > 0
        push(M, 1 if r else 0)
    elif tok == T_NOT:
        push(M, 1 if pop(M) <= 0 else 0)
    elif tok == T_BASE:
        push(M, frame(M, 2))
    elif tok == T_OUTOPF:
        push_top_function_field(M, 1)
    elif tok == T_POPF:
        i = rd(M, AFNP)
        if i == 0:
            stop(M, H_FUNCTION)
            return
        push(M, i)
        wr(M, AFNP, i - 1)
    elif tok == T_FIND:
        k = pop(M)
        i = get_dp(M)
        while i > 0 and rd(M, i + ADP) != k and float(M[R_TIME]) < F[F_TP]:
            i -= 1
            M[R_TIME] += 1
            M[R_TOTALT] += 1
        push(M, i)
    elif tok == T_RT1:
        if pop(M) > 0:
            ret(M, F)
    elif tok == T_HALF:
        push(M, ctrunc_div(pop(M), 2))
    elif tok == T_REM:
        x = pop(M)
        if x == 0:
            stop(M, H_DIVZERO)
            return
        a = pop(M)
        push(M, a - ctrunc_div(a, x) * x)
    elif tok == T_STF:
        set_frame(M, 1, pop(M) + ADP)
    elif tok == T_BASEF:
        set_frame(M, 1, frame(M, 2) + ADP)
    elif tok == T_POPPAT:
        i = rd(M, APATP)
        if i == 0:
            stop(M, H_PATTERN)
            return
        wr(M, APATP, i - 1)
        push(M, i)
    else:
        stop(M, H_TOKEN)


@njit(cache=True, forceinline=True)
def ip_ok(M):
    """Is the current task's ip a valid address holding a valid token number?"""
    a = frame(M, 1)
    if a < AMIN or a > M[R_QP]:
        return False
    v = z(M, a)
    return 1 <= v <= M[R_NQS]


@njit(cache=True, forceinline=True)
def step(M, F):
    """Execute one token of the current task (the original's onestep, without the goal test)."""
    n = z(M, frame(M, 1))
    t = M[R_TIME]
    if t > 2 * M[R_TOPT]:
        M[R_TOPT] = t
    if M[R_SP] > 2 * M[R_TOPSP]:
        M[R_TOPSP] = M[R_SP]
    M[R_JUMPED] = 0
    M[R_INSTS] += 1
    M[R_TIME] = t + 1
    M[R_TOTALT] += 1
    if rd(M, AQUOTEFLAG) == 1:
        if n == QOT:
            wr(M, AQUOTEFLAG, 0)
        else:
            push(M, n)
    else:
        exec_token(M, F, n)
    if M[R_JUMPED] == 0:
        set_frame(M, 1, frame(M, 1) + 1)
