"""HSEARCH: Hutter's M_p*, "The fastest and shortest algorithm for all well-defined problems".

Hutter (2002, IJFCS 13(3):431-443; arXiv cs/0206022), Theorem 1: let p* be a specification (an
algorithm computing p*(x)), and p any program that provably computes the same function with a
provable time bound t_p(x). Then M_p* computes p*(x) in time

    time_M(x) ≤ 5·t_p(x) + d_p·time_{t_p}(x) + c_p,

with constants c_p, d_p that depend on p but not on x. M runs three processes, sharing the
machine in fixed proportions (10% / 10% / 80% as we read the paper; parameters here):

- **A** enumerates proofs; whenever one shows "p ≡ p*" and "t bounds p's time", it adds (p, t) to
  a list L;
- **B** evaluates the bounds t(x) of the pairs in L on the current input and keeps the program
  with the smallest bound, p_fast;
- **C** runs p_fast: for k = 1, 2, 4, 8, … it runs the current p_fast for k steps and stops
  everything as soon as a run halts (``variant="doubling"``, the paper's, giving the factor 4/0.8
  = 5); ``variant="restart"`` instead restarts C whenever B finds a better bound, so its time
  after the last improvement is t_p(x)/0.8 (the "1 + ε" remark of Schmidhuber's OOPS paper).

Our problem class (``ProblemClass``): inputs x are arrays of n w-bit words; the specification p*
is a slow bit-serial algorithm applied to each word (here: the mask of the trailing zeros, 5
steps per bit). Programs are straight-line *word programs* (:data:`OPS`): SSA instructions over the
input word and earlier results. A proof that p ≡ p* is a z3 proof over all 2^w words (bit-vector
arithmetic, unsatisfiability of p(x) ≠ p*(x), p* unrolled symbolically); the time bound
t_p(x) = 2 + n·(2 + Σ op costs) follows from the cost semantics of straight-line code. A's
enumeration first refutes a candidate on a fixed set of test words (numba; a pure-Python reference
is kept), then asks z3. All three processes are charged in one unit, the *step*: one word
operation for programs and candidate tests, one unit of z3's deterministic resource counter
(fresh context per proof) for z3's work.

A does not look at x, so its trace (at which A-step which pair is proven) is computed once and
replayed for each input; B and C are run per input, with every C run executed for real.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import z3
from numba import njit

W = 16
MASK = (1 << W) - 1

# word operations: (name, arity, cost in steps)
OPS: tuple[tuple[str, int, int], ...] = (
    ("NOT", 1, 1), ("NEG", 1, 3), ("INC", 1, 2), ("DEC", 1, 2), ("SHL1", 1, 1), ("SHR1", 1, 1),
    ("AND", 2, 1), ("OR", 2, 1), ("XOR", 2, 1), ("ADD", 2, 2), ("SUB", 2, 2),
)
N_UNARY = 6
N_BINARY = 5
OP_COST = np.array([c for _, _, c in OPS], dtype=np.int64)
ELEM_OVERHEAD = 2   # load and store per word
SETUP = 2           # per run
SPEC_STEPS_PER_BIT = 5


@dataclass(frozen=True)
class Program:
    """A straight-line word program: instruction i computes v_{i+1} = op(v_a, v_b); v_0 = x."""

    ops: tuple[int, ...]
    a: tuple[int, ...]
    b: tuple[int, ...]

    @property
    def cost(self) -> int:
        """Steps per word (operations only)."""
        return int(sum(OP_COST[o] for o in self.ops))

    def time(self, n: int) -> int:
        """t_p for an input of n words: exact by the cost semantics of straight-line code."""
        return SETUP + n * (ELEM_OVERHEAD + self.cost)

    def __str__(self) -> str:
        parts = []
        for i, (o, a, b) in enumerate(zip(self.ops, self.a, self.b, strict=True)):
            name, arity, _ = OPS[o]
            args = f"v{a}" if arity == 1 else f"v{a}, v{b}"
            parts.append(f"v{i + 1}={name}({args})")
        return "; ".join(parts)


def spec_time(n: int) -> int:
    """Time of the specification p* on n words."""
    return SETUP + n * (ELEM_OVERHEAD + SPEC_STEPS_PER_BIT * W)


# --------------------------------------------------------------------------- interpreters
@njit(cache=True)
def _op(o: int, x: int, y: int) -> int:
    if o == 0:
        r = ~x
    elif o == 1:
        r = -x
    elif o == 2:
        r = x + 1
    elif o == 3:
        r = x - 1
    elif o == 4:
        r = x << 1
    elif o == 5:
        r = x >> 1
    elif o == 6:
        r = x & y
    elif o == 7:
        r = x | y
    elif o == 8:
        r = x ^ y
    elif o == 9:
        r = x + y
    else:
        r = x - y
    return r & 0xFFFF


@njit(cache=True)
def run_program(ops: np.ndarray, a: np.ndarray, b: np.ndarray, costs: np.ndarray,
                xs: np.ndarray, out: np.ndarray, limit: int) -> int:
    """Run a word program on every word of ``xs``; return its steps, or -1 if it would need more
    than ``limit`` steps (the run is cut off there)."""
    n_ins = ops.shape[0]
    per = 2
    for i in range(n_ins):
        per += costs[ops[i]]
    steps = 2
    if steps > limit:
        return -1
    vals = np.zeros(n_ins + 1, dtype=np.int64)
    for j in range(xs.shape[0]):
        if steps + per > limit:
            return -1
        vals[0] = xs[j]
        for i in range(n_ins):
            vals[i + 1] = _op(ops[i], vals[a[i]], vals[b[i]])
        out[j] = vals[n_ins]
        steps += per
    return steps


@njit(cache=True)
def _spec_word(x: int) -> int:
    m = 0
    seen = 0
    for i in range(16):
        bit = (x >> i) & 1
        seen = seen | bit
        m = m | ((1 - seen) << i)
    return m


@njit(cache=True)
def run_spec(xs: np.ndarray, out: np.ndarray, limit: int) -> int:
    """Run p* (bit-serial trailing-zero mask) on every word; steps, or -1 past ``limit``."""
    per = 2 + 5 * 16
    steps = 2
    if steps > limit:
        return -1
    for j in range(xs.shape[0]):
        if steps + per > limit:
            return -1
        out[j] = _spec_word(xs[j])
        steps += per
    return steps


def spec_word_reference(x: int) -> int:
    """p* in plain Python (reference for the numba version)."""
    m, seen = 0, 0
    for i in range(W):
        seen |= (x >> i) & 1
        m |= (1 - seen) << i
    return m


def program_reference(p: Program, x: int) -> int:
    """A word program on one word, in plain Python (reference for the numba interpreter)."""
    vals = [x]
    for o, a, b in zip(p.ops, p.a, p.b, strict=True):
        u, v = vals[a], vals[b]
        r = [~u, -u, u + 1, u - 1, u << 1, u >> 1, u & v, u | v, u ^ v, u + v, u - v][o]
        vals.append(r & MASK)
    return vals[-1]


# --------------------------------------------------------------------------- enumeration (A)
def choices(i: int) -> int:
    """Number of possible instructions at position i (sources v_0..v_i)."""
    return N_UNARY * (i + 1) + N_BINARY * (i + 1) ** 2


def decode(length: int, index: int) -> Program:
    """The index-th program of the given length in A's enumeration order (mixed radix)."""
    ops, a_s, b_s = [], [], []
    for i in range(length):
        r = choices(i)
        index, d = divmod(index, r)
        k = i + 1
        if d < N_UNARY * k:
            ops.append(d // k)
            a_s.append(d % k)
            b_s.append(0)
        else:
            d -= N_UNARY * k
            ops.append(N_UNARY + d // (k * k))
            a_s.append((d % (k * k)) // k)
            b_s.append(d % k)
    return Program(tuple(ops), tuple(a_s), tuple(b_s))


@njit(cache=True)
def _enumerate(length: int, tests: np.ndarray, want: np.ndarray, costs: np.ndarray,
               n_unary: int, n_binary: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Indices of the programs of ``length`` that pass every test, the A-steps spent when each
    was reached, and the steps of the whole enumeration (tests run until the first failure)."""
    total = 1
    radix = np.zeros(length, dtype=np.int64)
    for i in range(length):
        k = i + 1
        radix[i] = n_unary * k + n_binary * k * k
        total *= radix[i]
    ops = np.zeros(length, dtype=np.int64)
    a = np.zeros(length, dtype=np.int64)
    b = np.zeros(length, dtype=np.int64)
    vals = np.zeros(length + 1, dtype=np.int64)
    found = []
    found_steps = []
    steps = 0
    for index in range(total):
        rest = index
        per = 0
        for i in range(length):
            d = rest % radix[i]
            rest //= radix[i]
            k = i + 1
            if d < n_unary * k:
                ops[i] = d // k
                a[i] = d % k
                b[i] = 0
            else:
                d -= n_unary * k
                ops[i] = n_unary + d // (k * k)
                a[i] = (d % (k * k)) // k
                b[i] = d % k
            per += costs[ops[i]]
        ok = True
        for t in range(tests.shape[0]):
            vals[0] = tests[t]
            for i in range(length):
                vals[i + 1] = _op(ops[i], vals[a[i]], vals[b[i]])
            steps += per
            if vals[length] != want[t]:
                ok = False
                break
        if ok:
            found.append(index)
            found_steps.append(steps)
    return np.array(found, dtype=np.int64), np.array(found_steps, dtype=np.int64), steps


def enumerate_reference(length: int, tests: np.ndarray, want: np.ndarray) -> list[int]:
    """Pure-Python reference of the enumeration's survivors (slow; for tests)."""
    total = 1
    for i in range(length):
        total *= choices(i)
    out = []
    for index in range(total):
        p = decode(length, index)
        if all(program_reference(p, int(x)) == int(y) for x, y in zip(tests, want, strict=True)):
            out.append(index)
    return out


def _spec_z3(x: z3.BitVecRef, ctx: z3.Context) -> z3.BitVecRef:
    m = z3.BitVecVal(0, W, ctx)
    seen = z3.BitVecVal(0, W, ctx)
    for i in range(W):
        seen = seen | (z3.LShR(x, i) & 1)
        m = m | ((1 - seen) << i)
    return m


def _op_z3(o: int, u: z3.BitVecRef, v: z3.BitVecRef) -> z3.BitVecRef:
    name = OPS[o][0]
    if name == "NOT":
        return ~u
    if name == "NEG":
        return -u
    if name == "INC":
        return u + 1
    if name == "DEC":
        return u - 1
    if name == "SHL1":
        return u << 1
    if name == "SHR1":
        return z3.LShR(u, 1)
    if name == "AND":
        return u & v
    if name == "OR":
        return u | v
    if name == "XOR":
        return u ^ v
    if name == "ADD":
        return u + v
    return u - v


def _program_z3(p: Program, x: z3.BitVecRef) -> z3.BitVecRef:
    vals = [x]
    for o, a, b in zip(p.ops, p.a, p.b, strict=True):
        vals.append(_op_z3(o, vals[a], vals[b]))
    return vals[-1]


def prove_equivalent(p: Program) -> tuple[bool, int]:
    """z3: does p compute p* on all 2^W words? Returns (proved, z3 resource units used)."""
    ctx = z3.Context()
    x = z3.BitVec("x", W, ctx)
    solver = z3.Solver(ctx=ctx)
    solver.add(_program_z3(p, x) != _spec_z3(x, ctx))
    result = solver.check()
    stats = solver.statistics()
    used = 0
    for key in stats.keys():  # noqa: SIM118 (z3's Statistics is not a dict)
        if key == "rlimit count":
            used = int(stats.get_key_value(key))
    return result == z3.unsat, used


@dataclass(frozen=True)
class Found:
    """A pair (p, t_p) that A proved, and the A-step at which the proof was complete."""

    program: Program
    a_steps: int


@dataclass
class ProofTrace:
    """What A does, independent of the input: its proofs in order, and its costs."""

    found: list[Found] = field(default_factory=list)
    candidates: int = 0
    survivors: int = 0
    refuted_by_z3: int = 0
    enum_steps: int = 0
    z3_steps: int = 0


def test_words(seed: int = 7, n: int = 24) -> np.ndarray:
    """A's fixed refutation set: edge cases and pseudo-random words."""
    fixed = [0, 1, 2, 3, MASK, 1 << (W - 1), 0x00F0, 0x0F00]
    rng = np.random.default_rng(seed)
    return np.array(fixed + list(rng.integers(0, MASK + 1, n - len(fixed))), dtype=np.int64)


class ProofSearch:
    """Process A as a resumable search: programs of 1..``max_length`` instructions, in order.

    Each length is enumerated (numba; candidates refuted on :func:`test_words`), then every
    survivor goes to z3, one proof attempt at a time. ``advance(proofs)`` makes up to that many
    proof attempts (enumerating the next length when needed) and returns the pairs proven
    meanwhile; :attr:`trace` holds all of them and A's costs. A
    :class:`metahook.search.protocols.ProgramSearch` (HSEARCH's program search is its proof
    search: Hutter 2002, sec. 4).
    """

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length
        self.tests = test_words()
        self.want = np.array([spec_word_reference(int(x)) for x in self.tests], dtype=np.int64)
        self.trace = ProofTrace()
        self.length = 0  # the length being proven (0: none yet)
        self.offset = 0  # A-steps of the lengths done
        self.pending: list[tuple[int, int]] = []  # survivors of this length: (index, A-step)
        self.enum_total = 0  # this length's enumeration steps
        self.z3_before = 0  # this length's z3 steps so far

    @property
    def finished(self) -> bool:
        return self.length >= self.max_length and not self.pending

    def _next_length(self) -> None:
        self.length += 1
        idx, steps_at, total = _enumerate(self.length, self.tests, self.want, OP_COST, N_UNARY,
                                          N_BINARY)
        self.pending = [(int(i), int(a)) for i, a in zip(idx, steps_at, strict=True)]
        self.enum_total, self.z3_before = int(total), 0
        if not self.pending:
            self._end_length()

    def _end_length(self) -> None:
        n_cand = 1
        for i in range(self.length):
            n_cand *= choices(i)
        tr = self.trace
        tr.candidates += n_cand
        tr.enum_steps += self.enum_total
        tr.z3_steps += self.z3_before
        self.offset += self.enum_total + self.z3_before

    def advance(self, proofs: int) -> list[Found]:
        """Up to ``proofs`` z3 proof attempts; the pairs (p, t_p) proven meanwhile."""
        events: list[Found] = []
        done = 0
        while done < proofs and not self.finished:
            if not self.pending:
                self._next_length()
                continue
            index, at = self.pending.pop(0)
            p = decode(self.length, index)
            ok, used = prove_equivalent(p)
            done += 1
            self.z3_before += used
            self.trace.survivors += 1
            if ok:
                f = Found(p, self.offset + at + self.z3_before)
                self.trace.found.append(f)
                events.append(f)
            else:
                self.trace.refuted_by_z3 += 1
            if not self.pending:
                self._end_length()
        return events

    def state_dict(self) -> dict[str, Any]:
        tr = self.trace
        return {"max_length": self.max_length, "length": self.length, "offset": self.offset,
                "pending": [list(x) for x in self.pending], "enum_total": self.enum_total,
                "z3_before": self.z3_before,
                "found": [{"ops": list(f.program.ops), "a": list(f.program.a),
                           "b": list(f.program.b), "a_steps": f.a_steps} for f in tr.found],
                "candidates": tr.candidates, "survivors": tr.survivors,
                "refuted_by_z3": tr.refuted_by_z3, "enum_steps": tr.enum_steps,
                "z3_steps": tr.z3_steps}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.max_length, self.length = int(d["max_length"]), int(d["length"])
        self.offset = int(d["offset"])
        self.pending = [(int(i), int(a)) for i, a in d["pending"]]
        self.enum_total, self.z3_before = int(d["enum_total"]), int(d["z3_before"])
        self.trace = ProofTrace(
            [Found(Program(tuple(int(x) for x in f["ops"]), tuple(int(x) for x in f["a"]),
                           tuple(int(x) for x in f["b"])), int(f["a_steps"]))
             for f in d["found"]],
            int(d["candidates"]), int(d["survivors"]), int(d["refuted_by_z3"]),
            int(d["enum_steps"]), int(d["z3_steps"]))


def proof_search(max_length: int) -> ProofTrace:
    """Run A over all programs up to ``max_length`` instructions."""
    search = ProofSearch(max_length)
    while not search.finished:
        search.advance(1 << 30)
    return search.trace


# --------------------------------------------------------------------------- M_p*: A, B, C
@dataclass(frozen=True)
class Shares:
    a: float = 0.1
    b: float = 0.1
    c: float = 0.8


BOUND_STEPS = 3  # B's cost of evaluating t_p(x) = 2 + n·(2 + c): one multiply, two adds


@dataclass
class Outcome:
    total: float                          # M's time (steps of the whole machine)
    output_ok: bool
    program: str                          # the program whose run produced the output
    t_best: int                           # best proven program's time on this input
    best_available: float                 # when B had that program's bound (M's time)
    events: list[dict[str, Any]] = field(default_factory=list)
    c_steps_executed: int = 0


def hsearch(xs: np.ndarray, trace: ProofTrace, shares: Shares = Shares(),
            variant: Literal["doubling", "restart"] = "doubling") -> Outcome:
    """Run M_p* on input ``xs`` (replaying A's trace), return its time and output check."""
    n = len(xs)
    want = np.empty(n, dtype=np.int64)
    run_spec(xs, want, 1 << 62)
    # A and B: when does each improvement of p_fast become available (M's clock)?
    best_t = np.inf
    b_free = 0.0
    improvements: list[tuple[float, Program | None, float]] = [(0.0, None, np.inf)]  # p*, t=inf
    for f in trace.found:
        arrive = f.a_steps / shares.a
        done = max(arrive, b_free) + BOUND_STEPS / shares.b
        b_free = done
        t = f.program.time(n)
        if t < best_t:
            best_t = t
            improvements.append((done, f.program, float(t)))
    out = np.empty(n, dtype=np.int64)
    executed = 0

    def run(p: Program | None, limit: int) -> int:
        nonlocal executed
        if p is None:
            s = run_spec(xs, out, limit)
        else:
            s = run_program(np.array(p.ops, dtype=np.int64), np.array(p.a, dtype=np.int64),
                            np.array(p.b, dtype=np.int64), OP_COST, xs, out, limit)
        executed += limit if s < 0 else s
        return s

    def fastest_at(clock: float) -> Program | None:
        prog = None
        for when, p, _ in improvements:
            if when <= clock:
                prog = p
        return prog

    events: list[dict[str, Any]] = []
    if variant == "doubling":
        c_steps = 0
        k = 1
        while True:
            p = fastest_at(c_steps / shares.c)
            s = run(p, k)
            events.append({"k": k, "program": "p*" if p is None else str(p), "halted": s >= 0})
            if s >= 0:
                c_steps += s
                break
            c_steps += k
            k *= 2
        total = c_steps / shares.c
        final = p
    else:
        final = None
        total = np.inf
        for j, (when, p, _) in enumerate(improvements):
            nxt = improvements[j + 1][0] if j + 1 < len(improvements) else np.inf
            need = (spec_time(n) if p is None else p.time(n)) / shares.c
            if when + need <= nxt:
                s = run(p, 1 << 62)
                total = when + s / shares.c
                final = p
                events.append({"start": when, "program": "p*" if p is None else str(p)})
                break
            events.append({"start": when, "program": "p*" if p is None else str(p),
                           "restarted_at": nxt})
    t_best = int(min(best_t, spec_time(n)))
    best_when = improvements[-1][0]
    return Outcome(float(total), bool(np.array_equal(out, want)),
                   "p*" if final is None else str(final), t_best, best_when, events, executed)
