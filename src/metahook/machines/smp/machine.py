"""The SMP machine, numba fast path: one instruction per :func:`smp_step`, rewards via
:func:`smp_reward`.

All state lives in preallocated arrays (see :class:`metahook.machines.smp.SMPState`):

- ``P`` (m, n_ops): the policy; row ``i`` is program cell ``i``'s distribution over codes;
- ``c`` (n_work,): the work cells;
- ``iregs`` (int64): IP, the time counter and the self-modification bookkeeping (``IP``, ``TIME``,
  ``MODS_ENABLED``, ``SMS_MODS``, ``EVAL_COUNTDOWN``, ``BLOCK_OPEN``, ``SMS_START`` and counters);
- ``fregs`` (float64): ``R``, the cumulative reward;
- the SSA stack ``tags, entries, mark, counts`` of :mod:`metahook.core.ssa_stack`;
- the random stream ``u`` (uniforms drawn from the run's ``numpy.random.Generator``) and its read
  position ``upos[0]``: every sample consumes exactly one uniform, so the pure-Python reference run
  on the same stream makes exactly the same choices.

The program is generated on the fly: with ``IP = i``, the instruction code is sampled from
``P[i]`` and its ``N_j`` arguments from the next cells' distributions ``P[i+1..i+N_j]`` (mod m);
then IP moves to the next instruction slot (``width`` cells per slot, ML97 Exp. 3), unless the
instruction jumped. Environment instructions are not executed here: ``smp_step`` returns
:data:`EV_ENV` with the action and arguments in ``out`` and the caller runs them (and may move IP,
e.g. for a sensing instruction's conditional jump).

Self-modification sequences (SMS). The first learning instruction (IncProb, DecProb, MoveDist) that
changes the policy while no SMS is open starts one; with SSA on, it also opens an SSA block (a tag
``(t, R(t))``) and every changed row is saved on the stack before it changes. EndSelfMod or
PrepEval ends the SMS (one that changed nothing is not evaluated: no checkpoint without a
modification, LTL97 section 2), learning instructions are disabled, and after ``eval_delay`` (or
PrepEval's ``1 + a1*prepeval_unit``) further reward *events* the SSA call evaluates it -- or
after ``eval_max_steps`` time steps, if the events have not come by then. An SMS still open
``sms_max_steps`` time steps after it began is ended as if by EndSelfMod.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.core.ssa_stack import N_TAGS, ssa_begin_block, ssa_call, ssa_free, ssa_save
from metahook.machines.smp.instructions import (
    ADD,
    DECPROB,
    ENDSELFMOD,
    ENV,
    GETP,
    INCPROB,
    JUMP,
    JUMPHOME,
    MOV,
    MOVEDIST,
    MUL,
    PREPEVAL,
    SUB,
)

# iregs
IP, TIME, MODS_ENABLED, SMS_MODS, EVAL_COUNTDOWN, BLOCK_OPEN, SMS_START = range(7)
N_INSTR, N_MODS, N_REFUSED, N_INVALID, N_SMS, N_EVALS, N_FORCED, N_ENV, SMS_END = range(7, 16)
N_IREGS = 17
N_LATE_EVALS = 16
# fregs
R_CUM = 0
N_FREGS = 2
# iparams
P_WIDTH, P_EVAL_DELAY, P_PREPEVAL_UNIT, P_SMS_MAX_STEPS, P_SSA_ON, P_EVAL_MAX_STEPS = range(6)
P_SSA_TOP_ONLY = 6
N_IPARAMS = 7
# fparams
P_LAMBDA, P_MINP = range(2)
N_FPARAMS = 2
# events returned by smp_step
EV_NONE, EV_ENV, EV_STACK_FULL, EV_NEED_RANDOM = range(4)
# what one instruction may need at most: uniforms (1 + 3 arguments) and saved rows (a slot)
MAX_UNIFORMS = 4

_BIG = 1e300


@njit(cache=True, inline='always', **NO_REFCOUNT)
def sample(P: np.ndarray, i: int, u: float) -> int:
    """Inverse-CDF sample of a code from cell ``i``'s distribution (a full scan: 1 time step).

    Every probability is positive (the MinP guard), so the first code whose cumulative sum
    exceeds ``u`` is drawn; rounding can leave ``u`` above the total, then the last code is.
    """
    acc = 0.0
    n = P.shape[1]
    for j in range(n - 1):
        acc += P[i, j]
        if u < acc:
            return j
    return n - 1


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _finite(x: float) -> bool:
    return -_BIG < x < _BIG


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _open_sms(
    iregs: np.ndarray, fregs: np.ndarray, iparams: np.ndarray, tags: np.ndarray,
    counts: np.ndarray,
) -> None:
    if iregs[SMS_MODS] == 0:
        iregs[SMS_START] = iregs[TIME]
    if iparams[P_SSA_ON] != 0 and iregs[BLOCK_OPEN] == 0:
        ssa_begin_block(tags, counts, float(iregs[TIME]), fregs[R_CUM])
        iregs[BLOCK_OPEN] = 1


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _save_row(
    P: np.ndarray, iregs: np.ndarray, iparams: np.ndarray, tags: np.ndarray,
    entries: np.ndarray, mark: np.ndarray, counts: np.ndarray, row: int,
) -> None:
    if iparams[P_SSA_ON] != 0 and ssa_save(tags, entries, mark, counts, P, row) == 1:
        iregs[TIME] += 1  # pushing a distribution costs one time step


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _end_sms(iregs: np.ndarray, delay: int) -> None:
    """Close the open SMS (if it changed anything) and schedule its evaluation."""
    if iregs[SMS_MODS] > 0 and iregs[MODS_ENABLED] != 0:
        iregs[MODS_ENABLED] = 0
        iregs[EVAL_COUNTDOWN] = max(1, delay)
        iregs[SMS_END] = iregs[TIME]
        iregs[N_SMS] += 1


@njit(cache=True, **NO_REFCOUNT)
def smp_evaluate(
    P: np.ndarray, iregs: np.ndarray, fregs: np.ndarray, iparams: np.ndarray,
    tags: np.ndarray, entries: np.ndarray, counts: np.ndarray,
) -> int:
    """The SSA call that ends an SMS's evaluation; returns the rows restored (1 step each)."""
    restored = 0
    if iparams[P_SSA_ON] != 0 and counts[N_TAGS] > 0:
        restored = ssa_call(tags, entries, counts, P, float(iregs[TIME]), fregs[R_CUM],
                            iparams[P_SSA_TOP_ONLY] != 0)
        iregs[TIME] += restored
    iregs[BLOCK_OPEN] = 0
    iregs[MODS_ENABLED] = 1
    iregs[SMS_MODS] = 0
    iregs[EVAL_COUNTDOWN] = 0
    iregs[N_EVALS] += 1
    return restored


@njit(cache=True, **NO_REFCOUNT)
def smp_reward(
    P: np.ndarray, iregs: np.ndarray, fregs: np.ndarray, iparams: np.ndarray,
    tags: np.ndarray, entries: np.ndarray, counts: np.ndarray, r: float, event: bool,
) -> int:
    """Add reward ``r``; an ``event`` counts down a pending evaluation. Returns rows restored."""
    fregs[R_CUM] += r
    if event and iregs[EVAL_COUNTDOWN] > 0:
        iregs[EVAL_COUNTDOWN] -= 1
        if iregs[EVAL_COUNTDOWN] == 0:
            return smp_evaluate(P, iregs, fregs, iparams, tags, entries, counts)
    return 0


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _incprob(P: np.ndarray, i: int, j: int, lam: float) -> None:
    """P[i,k] <- lam P[i,k] for k != j; P[i,j] takes the rest (1 - lam(1 - P[i,j]) when the row
    sums to 1; computed from the row's actual sum so rounding never accumulates)."""
    n = P.shape[1]
    rest = 0.0
    for k in range(n):
        if k != j:
            P[i, k] = lam * P[i, k]
            rest += P[i, k]
    P[i, j] = 1.0 - rest


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _decprob(P: np.ndarray, i: int, j: int, lam: float) -> None:
    """P[i,j] <- lam P[i,j]; the others are scaled up to fill the row to exactly 1."""
    n = P.shape[1]
    pij = P[i, j]
    others = 0.0
    for k in range(n):
        if k != j:
            others += P[i, k]
    scale = (1.0 - lam * pij) / others
    for k in range(n):
        if k == j:
            P[i, k] = lam * pij
        else:
            P[i, k] = P[i, k] * scale


@njit(cache=True, inline='always', **NO_REFCOUNT)
def smp_step(
    P: np.ndarray, c: np.ndarray, iregs: np.ndarray, fregs: np.ndarray,
    kind: np.ndarray, arity: np.ndarray, env_id: np.ndarray,
    iparams: np.ndarray, fparams: np.ndarray,
    tags: np.ndarray, entries: np.ndarray, mark: np.ndarray, counts: np.ndarray,
    u: np.ndarray, upos: np.ndarray, out: np.ndarray,
) -> int:
    """Execute one instruction; return an event code (see the module docstring).

    ``out`` receives ``(env action, a1, a2, a3)`` for :data:`EV_ENV` and ``(code, a1, a2, a3)``
    otherwise. :data:`EV_STACK_FULL` / :data:`EV_NEED_RANDOM` leave the state untouched: grow the
    stack or refill ``u`` and call again.
    """
    m = P.shape[0]
    n_ops = P.shape[1]
    w = iparams[P_WIDTH]
    if upos[0] + MAX_UNIFORMS > u.shape[0]:
        return EV_NEED_RANDOM
    if iparams[P_SSA_ON] != 0 and not ssa_free(tags, entries, counts, w):
        return EV_STACK_FULL
    # an SMS that runs too long is ended as if by EndSelfMod
    if (
        iregs[SMS_MODS] > 0
        and iregs[MODS_ENABLED] != 0
        and iregs[TIME] - iregs[SMS_START] > iparams[P_SMS_MAX_STEPS]
    ):
        _end_sms(iregs, iparams[P_EVAL_DELAY])
        iregs[N_FORCED] += 1
    # an evaluation that waited eval_max_steps for its reward events happens now
    if (
        iregs[EVAL_COUNTDOWN] > 0
        and iregs[TIME] - iregs[SMS_END] >= iparams[P_EVAL_MAX_STEPS]
    ):
        smp_evaluate(P, iregs, fregs, iparams, tags, entries, counts)
        iregs[N_LATE_EVALS] += 1
    ip = iregs[IP]
    op = sample(P, ip, u[upos[0]])
    upos[0] += 1
    iregs[TIME] += 1
    na = arity[op]
    out[0] = op
    out[1] = 0
    out[2] = 0
    out[3] = 0
    for a in range(na):
        cell = ip + 1 + a
        if cell >= m:
            cell -= m
        out[1 + a] = sample(P, cell, u[upos[0]])
        upos[0] += 1
        iregs[TIME] += 1
    iregs[N_INSTR] += 1
    nxt = ip + w
    iregs[IP] = nxt if nxt < m else nxt - m
    k = kind[op]
    a1 = out[1]
    a2 = out[2]
    a3 = out[3]
    nw = c.shape[0]
    if k == ENV:
        out[0] = env_id[op]
        iregs[N_ENV] += 1
        return EV_ENV
    if k in (ADD, SUB, MUL):
        if a1 >= nw or a2 >= nw or a3 >= nw:
            iregs[N_INVALID] += 1
        else:
            if k == ADD:
                x = c[a1] + c[a2]
            elif k == SUB:
                x = c[a1] - c[a2]
            else:
                x = c[a1] * c[a2]
            if _finite(x):
                c[a3] = x
            else:
                iregs[N_INVALID] += 1
    elif k == MOV:
        if a1 >= nw or a2 >= nw:
            iregs[N_INVALID] += 1
        else:
            c[a2] = c[a1]
    elif k == JUMPHOME:
        iregs[IP] = 0
    elif k == JUMP:
        iregs[IP] = (a1 * w) % m
    elif k == GETP:
        if a1 >= nw or a2 >= nw or a3 >= nw or not (_finite(c[a1]) and _finite(c[a2])):
            iregs[N_INVALID] += 1
        else:
            ci = int(abs(c[a1]) % m)
            cj = int(abs(c[a2]) % n_ops)
            c[a3] = P[ci, cj]
    elif k == ENDSELFMOD:
        _end_sms(iregs, iparams[P_EVAL_DELAY])
    elif k == PREPEVAL:
        _end_sms(iregs, 1 + a1 * iparams[P_PREPEVAL_UNIT])
    elif k in (INCPROB, DECPROB):
        if iregs[MODS_ENABLED] != 0:
            i = (a1 * n_ops + a2) % m
            lam = fparams[P_LAMBDA]
            minp = fparams[P_MINP]
            # would the change be refused by the MinP guard? (checked before anything is pushed)
            ok = True
            if k == INCPROB:
                for kk in range(n_ops):
                    if kk != a3 and lam * P[i, kk] < minp:
                        ok = False
            else:
                ok = lam * P[i, a3] >= minp
            if ok:
                _open_sms(iregs, fregs, iparams, tags, counts)
                _save_row(P, iregs, iparams, tags, entries, mark, counts, i)
                if k == INCPROB:
                    _incprob(P, i, a3, lam)
                else:
                    _decprob(P, i, a3, lam)
                iregs[TIME] += 1
                iregs[SMS_MODS] += 1
                iregs[N_MODS] += 1
            else:
                iregs[N_REFUSED] += 1
    elif k == MOVEDIST and iregs[MODS_ENABLED] != 0:
        n_slots = m // w
        src = (a1 % n_slots) * w
        dst = (a2 % n_slots) * w
        if src != dst:
            _open_sms(iregs, fregs, iparams, tags, counts)
            for r in range(w):
                _save_row(P, iregs, iparams, tags, entries, mark, counts, dst + r)
                for j in range(n_ops):
                    P[dst + r, j] = P[src + r, j]
                iregs[TIME] += 1
            iregs[SMS_MODS] += 1
            iregs[N_MODS] += 1
    return EV_NONE
