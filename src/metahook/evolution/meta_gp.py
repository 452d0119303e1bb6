"""Meta-GP: genetic programming on the OOPS language, applied to its own variation operators.

Schmidhuber, *Evolutionary principles in self-referential learning, or on learning how to learn:
the meta-meta-... hook*, diploma thesis, TU Munich 1987: pp. 7-13 propose evolving the programs
that modify programs (meta-evolution, at meta, meta-meta, ... levels); pp. 23-51 (PSALM) let
competing agents trade credit that is conserved except for external reward. The thesis reports no
experiment; this module makes the idea concrete on metahook's universal language.

* **Object level** (level 0): programs of the OOPS machine (:mod:`metahook.machines.forth`) that
  compute a function of the inputs on ``ds`` (:class:`Problem`: even-k parity, polynomial
  regression); run by the machine's own interpreter (:mod:`.gp_machine`), bounded in time steps.
* **Operators** (level 1, 2, ...): programs of the same machine. A level-L operator reads one
  level-(L-1) program (a binary operator: two) from ``ds`` and a stream of random inputs from
  ``Ds`` and leaves the child on ``ds`` (:func:`apply_operator`). A child is kept only if it is a
  valid program of its level; otherwise it is rejected with a reason (the operator halted, ran out
  of steps, left a cell that is not a token of the level, an empty or too long child, no change).
* **Meta levels** (:class:`MetaGP`, ``depth`` >= 1): a pool of operators per level. A level-1
  operator's fitness is the mean improvement of its children over their better parent
  (``max(0, f_child - f_parent)``, rejections counting 0) over its last ``window`` applications;
  a level-L operator (L >= 2) is scored by the same measure one level down: the improvement of the
  fitness of the operators it made over that of their parents, measured once the child has been
  applied ``window`` times. The worst operator of a pool is replaced now and then by a child of a
  good one, made by an operator of the level above; the top level is varied by the fixed,
  hand-written seed operators (:data:`SEEDS`).
* **Credit economy** (``economy=True``, PSALM-style): operators are agents with credit. Being
  applied costs ``price`` paid to the agent that created the operator (its creator one level up,
  or the bank for seeds); the improvement a level-1 operator's child achieves is paid to it as
  external reward (``reward_scale`` x improvement), the only credit that enters; new operators
  get ``endowment`` from the bank and a removed operator's credit goes back to it. Selection and
  replacement use credit instead of the windowed fitness. :meth:`Economy.total` stays equal to
  the initial credit plus the external reward paid (a test checks it).
* **Fixed-operator baseline** (``depth=0``): the same GP with hand-written subtree mutation and
  subtree crossover on postfix programs (:func:`subtree_crossover`, :func:`subtree_mutation`);
  :mod:`.meta_gp_deap` is the same on ``deap``'s tree GP.

Budgets count object-level evaluations (one program run on all fitness cases); children equal to a
parent are not evaluated again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metahook.evolution.gp_machine import BADIP, END, HALT_REASONS, HALTED, TIME, GPMachine
from metahook.machines.forth import assemble, disassemble
from metahook.machines.forth.instructions import N_EXTENDED
from metahook.machines.forth.layout import MAXDP

ERR_CAP = 10**6  # regression: error of a case the program failed (halted, out of steps)
STREAM_RECORDS = 6  # records (i, j, t, L, k, m, a, c) on an operator's input stream
RECORD = 8  # values per record


# ------------------------------------------------------------------ object problems
@dataclass(frozen=True)
class Problem:
    """A GP task: inputs (cases x k) written to ds[1..k], targets, the primitive set.

    ``terminals`` are token units a tree leaf is made of (``c1 outb``: push input 1);
    ``functions`` maps a function token to its arity (values it pops; it pushes one)."""

    name: str
    kind: str  # "parity" or "regression"
    inputs: np.ndarray
    targets: np.ndarray
    terminals: tuple[tuple[int, ...], ...]
    functions: dict[int, int]
    max_len: int = 96
    max_steps: int = 400

    @property
    def tokens(self) -> tuple[int, ...]:
        """The object token set: every token a valid object program may hold."""
        return tuple(sorted({t for u in self.terminals for t in u} | set(self.functions)))

    @property
    def cases(self) -> int:
        return int(self.inputs.shape[0])

    def score(self, outs: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(fitness in [0, 1], hits) per program from the machine's outputs and stop codes."""
        ok = stops == END
        if self.kind == "parity":
            hits = (ok & ((outs > 0) == (self.targets[None, :] > 0))).sum(axis=1)
            return hits / self.cases, hits
        err = np.where(ok, np.minimum(np.abs(outs - self.targets[None, :]), ERR_CAP), ERR_CAP)
        hits = (err == 0).sum(axis=1)
        return 1.0 / (1.0 + err.mean(axis=1)), hits


def _tok(name: str) -> int:
    return assemble(name)[0]


_OUTB = assemble("outb")[0]


def parity(k: int) -> Problem:
    """Even-k parity: 1 iff an even number of the k input bits are 1; primitives and, or, not."""
    if not 2 <= k <= 5:
        raise ValueError("parity: k must be in 2..5 (inputs are read with c1..c5 outb)")
    X = np.array([[(c >> (k - 1 - i)) & 1 for i in range(k)] for c in range(2**k)],
                 dtype=np.int64)
    y = (X.sum(axis=1) % 2 == 0).astype(np.int64)
    outb = _tok("outb")
    terms = tuple((_tok(f"c{i}"), outb) for i in range(1, k + 1))
    funcs = {_tok("and"): 2, _tok("or"): 2, _tok("not"): 1}
    return Problem(f"even-{k}-parity", "parity", X, y, terms, funcs)


POLYNOMIALS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "quartic": lambda x: x + x**2 + x**3 + x**4,  # Koza 1992
    "sextic": lambda x: x**6 - 2 * x**4 + x**2,  # Koza 1994, the harder one
}


def regression(name: str, xs: Sequence[int] = tuple(range(-5, 6))) -> Problem:
    """Integer symbolic regression of ``POLYNOMIALS[name]`` on ``xs``; primitives add, sub,
    mul, div (truncating; division by zero halts the program) and the terminals x, 1."""
    if name not in POLYNOMIALS:
        raise ValueError(f"unknown polynomial {name!r}; choose from {sorted(POLYNOMIALS)}")
    X = np.array(xs, dtype=np.int64).reshape(-1, 1)
    y = POLYNOMIALS[name](X[:, 0]).astype(np.int64)
    terms = ((_tok("c1"), _tok("outb")), (_tok("c1"),))
    funcs = {_tok("add"): 2, _tok("sub"): 2, _tok("mul"): 2, _tok("div"): 2}
    return Problem(name, "regression", X, y, terms, funcs)


def make_problem(name: str) -> Problem:
    """``even-3`` .. ``even-5`` or ``quartic`` / ``sextic``."""
    if name.startswith("even-"):
        return parity(int(name.split("-")[1]))
    return regression(name)


# ------------------------------------------------------------------ postfix trees
def arity_of(problem: Problem) -> dict[int, int]:
    """Values each object token pops (terminal tokens: outb pops its index, constants 0)."""
    ar = dict(problem.functions)
    for unit in problem.terminals:
        for t in unit:
            ar.setdefault(t, 1 if t == _tok("outb") else 0)
    return ar


def random_tree(rng: np.random.Generator, problem: Problem, depth: int, full: bool) -> list[int]:
    """A random expression tree of at most ``depth`` (full: exactly) in postfix order."""
    fn = list(problem.functions.items())
    n_f, n_t = len(fn), len(problem.terminals)
    if depth == 0 or (not full and rng.random() < n_t / (n_t + n_f)):
        return list(problem.terminals[rng.integers(n_t)])
    tok, ar = fn[rng.integers(n_f)]
    out: list[int] = []
    for _ in range(ar):
        out += random_tree(rng, problem, depth - 1, full)
    return [*out, tok]


def ramped(rng: np.random.Generator, problem: Problem, n: int, lo: int = 2, hi: int = 6
           ) -> list[np.ndarray]:
    """Ramped half-and-half initial population (Koza), within ``problem.max_len``.

    Draw k takes depth ``lo + (k // 2) % (hi - lo + 1)``, full if k is odd; a tree too long is
    dropped and the ramp moves on (a full binary tree of depth 6 never fits 96 tokens, so the
    ramp must not wait for one). Bounded: at most ``50 * n`` draws."""
    pop: list[np.ndarray] = []
    for k in range(50 * n + 50):
        if len(pop) == n:
            break
        t = random_tree(rng, problem, lo + (k // 2) % (hi - lo + 1), full=bool(k % 2))
        if len(t) <= problem.max_len:
            pop.append(np.array(t, dtype=np.int64))
    if len(pop) < n:
        raise ValueError(f"ramped: trees of depth {lo}..{hi} do not fit {problem.max_len} "
                         "tokens")
    return pop


def subtree_start(prog: Sequence[int] | np.ndarray, j: int, arity: dict[int, int]) -> int:
    """Start of the subtree that ends at position ``j`` of a postfix program (-1: none)."""
    need = 1
    for k in range(j, -1, -1):
        need += arity.get(int(prog[k]), 0) - 1
        if need == 0:
            return k
    return -1


def stack_effect(problem: Problem) -> np.ndarray:
    """``effect[v]``: what object token v adds to the height of ``ds`` (pushes 1, pops its
    arity); 0 for tokens outside the problem's set."""
    eff = np.zeros(N_EXTENDED + 1, dtype=np.int64)
    for t, ar in arity_of(problem).items():
        eff[t] = 1 - ar
    return eff


def tree_nodes(prog: np.ndarray, effect: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nodes of a postfix program's tree: the positions (1-based) where a subtree ends and
    the subtree's length. With S the running sum of the tokens' stack effects (each at most
    +1), the subtree ending at k starts after the last position before k where S was S[k] - 1
    (the subtree :func:`subtree_start` finds). An input's index (a constant that ``outb``
    reads: ``c2`` of the leaf ``c2 outb``) is part of its leaf, not a node."""
    codes = prog.tolist()
    run = 0
    last: dict[int, int] = {0: 0}
    ends: list[int] = []
    lens: list[int] = []
    for k in range(1, len(codes) + 1):
        run += int(effect[codes[k - 1]])
        start = last.get(run - 1)
        if start is not None and not (k < len(codes) and codes[k] == _OUTB
                                      and effect[codes[k - 1]] == 1):
            ends.append(k)
            lens.append(k - start)
        last[run] = k
    return np.array(ends, dtype=np.int64), np.array(lens, dtype=np.int64)


def _random_node(rng: np.random.Generator, prog: np.ndarray, effect: np.ndarray
                 ) -> tuple[int, int]:
    """(start, end) of a uniformly chosen node's subtree, 0-based inclusive; (-1, -1): none."""
    ends, lens = tree_nodes(prog, effect)
    if not len(ends):
        return -1, -1
    k = int(rng.integers(len(ends)))
    return int(ends[k] - lens[k]), int(ends[k] - 1)


def subtree_crossover(rng: np.random.Generator, p1: np.ndarray, p2: np.ndarray,
                      effect: np.ndarray) -> np.ndarray:
    """Replace a random subtree of ``p1`` by a random subtree of ``p2`` (uniform nodes)."""
    s1, j1 = _random_node(rng, p1, effect)
    s2, j2 = _random_node(rng, p2, effect)
    if s1 < 0 or s2 < 0:
        return p1.copy()
    return np.concatenate([p1[:s1], p2[s2:j2 + 1], p1[j1 + 1:]])


def subtree_mutation(rng: np.random.Generator, p: np.ndarray, problem: Problem,
                     effect: np.ndarray, depth: int = 2) -> np.ndarray:
    """Replace a random subtree of ``p`` by a random tree of depth 0..``depth`` (grow)."""
    s, j = _random_node(rng, p, effect)
    if s < 0:
        return p.copy()
    new = random_tree(rng, problem, int(rng.integers(depth + 1)), full=False)
    return np.concatenate([p[:s], np.array(new, dtype=np.int64), p[j + 1:]])


# ------------------------------------------------------------------ operators as programs
OP_TOKEN_NAMES = ("fromD delD toD ex up del innb outb outn inn deln insn mvn cpn cpnb xmn xmnb "
                  "c0 c1 c2 c3 c4 c5 add sub inc dec by2 half pushdp setdp nop neg grt eq")
OP_TOKENS: tuple[int, ...] = tuple(sorted(assemble(OP_TOKEN_NAMES)))
OP_MAX_LEN = 64
OP_MAX_STEPS = 3000

# The hand-written seed operators (name: code, arity). Stream, top first: n1 n2, then records
# i j t L k m a c (i: a position in parent 1, j: in parent 2 (unary: in parent 1), t: a random
# token of the child's level, L in 1..3; when the child is an object program, k and m: where a
# random node of parent 1 and of parent 2 (unary: 1) ends, a and c: their subtrees' lengths;
# for an operator child k = i, m = j, a = c = 1).
SEEDS: dict[str, tuple[str, int]] = {
    # ds[i] := t
    "point": ("delD delD fromD delD delD fromD delD ex innb del", 1),
    # insert t after ds[i]
    "insert": ("delD delD fromD delD delD fromD delD ex toD pushdp c1 fromD delD insn del", 1),
    # delete L cells from ds[i]
    "delete": ("delD delD fromD dec delD delD delD fromD deln", 1),
    # p1[1..i] ++ p2[j..n2]
    "crossover": ("fromD delD delD fromD ex c2 outn sub deln fromD delD fromD delD dec deln", 2),
    # p1[1..k-a] ++ p2[m-c+1..m] ++ p1[k+1..n1]: the subtree ending at k replaced by the one
    # ending at m. On ds above the parents it computes X = n1-a+c, Y = n1-a+m+1, c, e = k-a,
    # e, a, then deln (drop p1's subtree), insn (copy p2's in), setdp X (drop the rest).
    "subtree": ("fromD delD delD delD delD delD delD fromD delD fromD delD fromD delD fromD "
                "c5 outn c3 outn sub c2 outn add up c3 outn sub c5 outn add inc c3 outn "
                "c5 c2 add outn c3 by2 outn sub up c5 c2 add outn deln insn setdp", 2),
}


def operator_stream(rng: np.random.Generator, n1: int, n2: int, tokens: Sequence[int],
                    nodes1: tuple[np.ndarray, np.ndarray] | None = None,
                    nodes2: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The input stream of an operator run, bottom first (so that ``n1`` is on top of Ds).
    ``nodes1``/``nodes2``: :func:`tree_nodes` of parent 1 and 2 (unary: both parent 1's);
    without them (operator children, or a parent with no node) k = i, m = j, a = c = 1."""
    r = STREAM_RECORDS
    u = rng.random((r, 6))  # one draw for every random field (uniform choices below)
    rec = np.ones((r, RECORD), dtype=np.int64)
    rec[:, 0] = 1 + (u[:, 0] * n1).astype(np.int64)
    rec[:, 1] = 1 + (u[:, 1] * (n2 or n1)).astype(np.int64)
    rec[:, 2] = np.asarray(tokens, dtype=np.int64)[(u[:, 2] * len(tokens)).astype(np.int64)]
    rec[:, 3] = 1 + (u[:, 3] * 3).astype(np.int64)
    rec[:, 4] = rec[:, 0]
    rec[:, 5] = rec[:, 1]
    for col, nodes in ((4, nodes1), (5, nodes2)):
        if nodes is not None and len(nodes[0]):
            pick = (u[:, col] * len(nodes[0])).astype(np.int64)
            rec[:, col] = nodes[0][pick]
            rec[:, col + 2] = nodes[1][pick]
    return np.concatenate([[n1, n2], rec.ravel()])[::-1].copy()


def token_mask(tokens: Sequence[int]) -> np.ndarray:
    """``mask[v]`` is True iff v is one of ``tokens`` (v in 0..N_EXTENDED)."""
    mask = np.zeros(N_EXTENDED + 1, dtype=bool)
    mask[np.asarray(tokens, dtype=np.int64)] = True
    return mask


def check_child(child: np.ndarray, parents: Sequence[np.ndarray], tokens: Sequence[int],
                max_len: int) -> str:
    """Why ``child`` is not a valid program of the level ("" if it is)."""
    if len(child) == 0:
        return "empty child"
    if len(child) > max_len:
        return f"child longer than {max_len}"
    mask = token_mask(tokens)
    inside = (child >= 0) & (child <= N_EXTENDED)
    bad = ~inside
    bad[inside] = ~mask[child[inside]]
    if bad.any():
        k = int(np.argmax(bad))
        return f"cell {k + 1} holds {int(child[k])}, not a token of the level"
    if any(len(p) == len(child) and np.array_equal(p, child) for p in parents):
        return "no change"
    return ""


def apply_operator(machine: GPMachine, op: np.ndarray, arity: int, parents: Sequence[np.ndarray],
                   tokens: Sequence[int], max_len: int, rng: np.random.Generator,
                   max_steps: int = OP_MAX_STEPS, effect: np.ndarray | None = None,
                   nodes: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
                   ) -> tuple[np.ndarray | None, str]:
    """Run operator program ``op`` on ``parents`` (its arity's first ones): (child, "") or
    (None, the reason it was rejected). ``effect`` (:func:`stack_effect`, object children only)
    puts random nodes of the parents' trees on the stream (``nodes``: a cached
    :func:`tree_nodes` for that ``effect``)."""
    p1 = parents[0]
    p2 = parents[1] if arity == 2 else np.zeros(0, dtype=np.int64)
    ds0 = np.concatenate([p1, p2])
    if len(ds0) > MAXDP:
        return None, "parents do not fit on ds"
    s1 = s2 = None
    if effect is not None and nodes is None:
        def nodes(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return tree_nodes(p, effect)
    if nodes is not None:
        s1 = nodes(p1)
        s2 = nodes(p2) if arity == 2 else s1
    stream = operator_stream(rng, len(p1), len(p2), tokens, s1, s2)
    code, why, child, _ = machine.run_operator(op, ds0, stream, max_steps)
    if code == HALTED:
        return None, f"operator halted: {HALT_REASONS[why]}"
    if code == TIME:
        return None, "operator ran out of steps"
    if code == BADIP:
        return None, "operator's ip left its code"
    reason = check_child(child, parents[:arity], tokens, max_len)
    return (None, reason) if reason else (child, "")


@dataclass
class Operator:
    """An operator program of level ``level`` and what is known of its effect."""

    uid: int
    level: int
    code: np.ndarray
    arity: int
    origin: str  # a seed's name, or "made by #uid"
    creator: int = -1  # uid of the operator that made it (-1: a seed or the fixed operators)
    parent_fitness: float = 0.0  # its parent's fitness when it was made
    window: list[float] = field(default_factory=list)
    applied: int = 0
    rejected: int = 0
    credit: float = 0.0
    born: int = 0  # object evaluations when it was made
    reported: bool = False  # its creator was credited

    @property
    def text(self) -> str:
        return disassemble([int(t) for t in self.code])

    def fitness(self, prior: float) -> float:
        """Mean improvement over the window (``prior`` while it has no application)."""
        return sum(self.window) / len(self.window) if self.window else prior

    def record(self, gain: float, window: int, rejected: bool = False) -> None:
        self.applied += 1
        self.rejected += int(rejected)
        self.window.append(gain)
        if len(self.window) > window:
            del self.window[0]

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "level": self.level, "text": self.text, "arity": self.arity,
                "origin": self.origin, "applied": self.applied, "rejected": self.rejected,
                "fitness": self.fitness(0.0), "credit": self.credit}


class Economy:
    """PSALM-style accounts: operators' credit and the bank; credit moves only by transfers,
    except external reward, which enters (see the module docstring)."""

    def __init__(self) -> None:
        self.bank = 0.0
        self.initial = 0.0
        self.external = 0.0
        self.retired = 0.0  # credit of removed operators is returned to the bank (kept 0)
        self.accounts: dict[int, Operator] = {}

    def open(self, op: Operator, amount: float, initial: bool = False) -> None:
        """A new agent with ``amount`` (the initial endowment is counted as initial credit;
        a later one is paid by the bank)."""
        self.accounts[op.uid] = op
        if initial:
            self.initial += amount
            op.credit = amount
        else:
            self.bank -= amount
            op.credit = amount

    def transfer(self, payer: int, payee: int, amount: float) -> None:
        """``payer`` pays ``amount`` to ``payee`` (-1: the bank; an unknown payee: the bank)."""
        if payer in self.accounts:
            self.accounts[payer].credit -= amount
        else:
            self.bank -= amount
        if payee in self.accounts:
            self.accounts[payee].credit += amount
        else:
            self.bank += amount

    def reward(self, payee: int, amount: float) -> None:
        """External reward: the only credit that enters."""
        self.accounts[payee].credit += amount
        self.external += amount

    def close(self, op: Operator) -> None:
        self.bank += op.credit
        op.credit = 0.0
        del self.accounts[op.uid]

    def total(self) -> float:
        return self.bank + sum(o.credit for o in self.accounts.values())


@dataclass(frozen=True)
class Settings:
    """One GP run's settings (the same for every method, so budgets compare)."""

    population: int = 200
    evaluations: int = 20_000  # object-level evaluations (the budget)
    tournament: int = 7
    crossover: float = 0.9  # fixed operators: share of subtree crossover (else mutation)
    depth: int = 0  # 0: fixed operators; 1, 2, ...: evolved operator levels
    economy: bool = False  # PSALM credit instead of windowed fitness
    pool: tuple[int, ...] = (12, 6, 4)  # operators per level 1, 2, 3
    window: int = 40  # applications an operator's fitness is measured over
    replace_every: int = 100  # applications at a level between two replacements (level 1:
    # rejected ones included)
    min_trials: int = 20  # an operator is replaced only after this many applications
    rejection_penalty: float = 0.01  # the window's entry for a rejected child
    max_idle: int = 5  # generations in a row without an evaluation end the run (stalled)
    max_tries: int = 20  # rejected children in a row before a parent is cloned instead
    price: float = 0.002  # economy: what one application costs
    endowment: float = 0.05  # economy: a new operator's credit
    reward_scale: float = 1.0  # economy: credit paid per unit of fitness improvement

    def validate(self) -> None:
        if self.population < 2 or self.evaluations < self.population:
            raise ValueError("population must be >= 2 and evaluations >= population")
        if not 0 <= self.depth <= len(self.pool):
            raise ValueError(f"depth must be in 0..{len(self.pool)}")
        if self.economy and self.depth < 1:
            raise ValueError("the economy needs depth >= 1")
        if min(self.window, self.replace_every, self.min_trials, self.max_tries,
               self.tournament) < 1:
            raise ValueError("window, replace_every, min_trials, max_tries, tournament >= 1")


class MetaGP:
    """One GP run on ``problem`` with fixed (depth 0) or evolved (depth >= 1) operators."""

    def __init__(self, problem: Problem, settings: Settings, rng: np.random.Generator,
                 machine: GPMachine | None = None) -> None:
        settings.validate()
        self.p, self.s, self.rng = problem, settings, rng
        self.m = machine or GPMachine()
        self.arity = arity_of(problem)
        self.effect = stack_effect(problem)
        self._node_cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self.evals = 0
        self.solved_at = 0  # evaluations when the first solution was evaluated (0: none)
        self.generation = 0
        self.rejections: dict[str, int] = {}
        self.stalled = False
        self.history: list[dict[str, Any]] = []  # per generation: evals, best, pools' fitness
        # the last generation's evaluated children: (op uid, child, f_child, f_better_parent)
        self.last_children: list[tuple[int, np.ndarray, float, float]] = []
        self._uid = 0
        self.economy = Economy() if settings.economy else None
        self.levels: list[list[Operator]] = [[] for _ in range(settings.depth + 1)]
        self.applications = [0] * (settings.depth + 2)
        self.seeds = [Operator(-1 - k, 0, np.array(assemble(code), dtype=np.int64), ar, name)
                      for k, (name, (code, ar)) in enumerate(SEEDS.items())]
        self.removed: list[Operator] = []
        for lv in range(1, settings.depth + 1):
            self._init_pool(lv)
        self.pop = ramped(rng, problem, settings.population)
        self.fit, self.hits = self._evaluate(self.pop)

    # ------------------------------------------------------------ bookkeeping
    def _new_uid(self) -> int:
        self._uid += 1
        return self._uid

    def _tokens(self, level: int) -> tuple[int, ...]:
        return self.p.tokens if level == 0 else OP_TOKENS

    def _nodes(self, prog: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`tree_nodes` of an object program, cached (parents are chosen many times)."""
        key = prog.tobytes()
        got = self._node_cache.get(key)
        if got is None:
            if len(self._node_cache) > 4 * self.s.population:
                self._node_cache.clear()
            got = self._node_cache[key] = tree_nodes(prog, self.effect)
        return got

    def _max_len(self, level: int) -> int:
        return self.p.max_len if level == 0 else OP_MAX_LEN

    def _init_pool(self, level: int) -> None:
        pool = self.levels[level]
        n = self.s.pool[level - 1]
        for k in range(n):
            seed = self.seeds[k % len(self.seeds)]
            code = seed.code.copy()
            if k >= len(self.seeds):  # the rest: variants of the seeds by the fixed operators
                code = self._fixed_vary([code], level)
            op = Operator(self._new_uid(), level, code, seed.arity, seed.origin)
            pool.append(op)
            if self.economy is not None:
                self.economy.open(op, self.s.endowment, initial=True)

    def _fixed_vary(self, parents: list[np.ndarray], level: int) -> np.ndarray:
        """Vary an operator program with the fixed seed operators (the top level's variation);
        parents unchanged if 20 tries are all rejected."""
        for _ in range(20):
            seed = self.seeds[self.rng.integers(len(self.seeds))]
            pair = [parents[0], parents[-1] if len(parents) > 1 else parents[0]]
            child, _ = apply_operator(self.m, seed.code, seed.arity, pair, OP_TOKENS, OP_MAX_LEN,
                                      self.rng)
            if child is not None:
                return child
        return parents[0].copy()

    def _reject(self, reason: str) -> None:
        key = reason.split(":")[0] if reason.startswith("operator halted") else reason
        key = "bad token" if "not a token" in key else key
        self.rejections[key] = self.rejections.get(key, 0) + 1

    # ------------------------------------------------------------ evaluation
    def _evaluate(self, progs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        outs, stops, _ = self.m.evaluate(progs, self.p.inputs, self.p.max_steps)
        fit, hits = self.p.score(outs, stops)
        first = np.flatnonzero(hits == self.p.cases)
        if first.size and not self.solved_at:
            self.solved_at = self.evals + int(first[0]) + 1
        self.evals += len(progs)
        return fit, hits

    def _tournament(self) -> int:
        idx = self.rng.integers(len(self.pop), size=self.s.tournament)
        return int(idx[np.argmax(self.fit[idx])])

    # ------------------------------------------------------------ operator selection
    def _scores(self, level: int) -> list[float]:
        """Each operator's selection score: credit, or windowed fitness (an operator not yet
        applied gets the pool's mean)."""
        pool = self.levels[level]
        if self.economy is not None:
            return [o.credit for o in pool]
        known = [o.fitness(0.0) for o in pool if o.window]
        prior = sum(known) / len(known) if known else 0.0
        return [o.fitness(prior) for o in pool]

    def _score(self, op: Operator, level: int) -> float:
        return self._scores(level)[self.levels[level].index(op)]

    def _choose(self, level: int) -> Operator:
        """Roulette on credit (economy), else a tournament of two on fitness (ties at random)."""
        pool = self.levels[level]
        sc = self._scores(level)
        if self.economy is not None:
            w = np.maximum(np.array(sc), 0.0) + 1e-6
            return pool[int(self.rng.choice(len(pool), p=w / w.sum()))]
        a, b = (int(k) for k in self.rng.integers(len(pool), size=2))
        return pool[a if sc[a] > sc[b] or (sc[a] == sc[b] and self.rng.random() < 0.5) else b]

    def _pay(self, op: Operator) -> None:
        if self.economy is not None:
            self.economy.transfer(op.uid, op.creator, self.s.price)

    # ------------------------------------------------------------ one generation
    def _make_child(self) -> tuple[np.ndarray, float, Operator | None, int]:
        """A child, its better parent's fitness, the operator that made it, and the index of
        the parent it copies (-1 if it is new; a copy is not evaluated again)."""
        i = self._tournament()
        if self.s.depth == 0:
            if self.rng.random() < self.s.crossover:
                j = self._tournament()
                child = subtree_crossover(self.rng, self.pop[i], self.pop[j], self.effect)
                fp = max(self.fit[i], self.fit[j])
            else:
                j = i
                child = subtree_mutation(self.rng, self.pop[i], self.p, self.effect)
                fp = self.fit[i]
            if len(child) > self.p.max_len:
                return self.pop[i], self.fit[i], None, i
            for k in (i, j):
                if len(child) == len(self.pop[k]) and np.array_equal(child, self.pop[k]):
                    return self.pop[k], self.fit[k], None, k
            return child, fp, None, -1
        for _ in range(self.s.max_tries):
            op = self._choose(1)
            j = self._tournament() if op.arity == 2 else i
            self._pay(op)
            made, reason = apply_operator(self.m, op.code, op.arity, [self.pop[i], self.pop[j]],
                                          self.p.tokens, self.p.max_len, self.rng,
                                          nodes=self._nodes)
            if made is not None:
                return made, max(self.fit[i], self.fit[j]), op, -1
            self._reject(reason)
            op.record(-self.s.rejection_penalty, self.s.window, rejected=True)
            self._after_application(1)  # a rejection counts: a pool that only rejects is renewed
            i = self._tournament()
        return self.pop[i], self.fit[i], None, i

    def step(self) -> None:
        """One generation: the best program survives, the rest are children."""
        best = int(np.argmax(self.fit))
        budget_left = self.s.evaluations - self.evals
        kids: list[np.ndarray] = []
        parent_fit: list[float] = []
        makers: list[Operator | None] = []
        clones: list[int] = []
        while len(kids) + len(clones) < len(self.pop) - 1 and len(kids) < budget_left:
            child, fp, op, same = self._make_child()
            if same >= 0:
                clones.append(same)
                continue
            kids.append(child)
            parent_fit.append(fp)
            makers.append(op)
        fit, hits = self._evaluate(kids) if kids else (np.zeros(0), np.zeros(0, dtype=np.int64))
        self.last_children = []
        for kid, child_fit, fp, op in zip(kids, fit, parent_fit, makers, strict=True):
            if op is None:
                continue
            gain = max(0.0, float(child_fit) - fp)
            op.record(gain, self.s.window)
            self.last_children.append((op.uid, kid, float(child_fit), float(fp)))
            if self.economy is not None and gain > 0 and op.uid in self.economy.accounts:
                self.economy.reward(op.uid, self.s.reward_scale * gain)
            self._after_application(1)
        keep = [best, *clones]
        self.pop = [self.pop[k] for k in keep] + kids
        self.fit = np.concatenate([self.fit[keep], fit])
        self.hits = np.concatenate([self.hits[keep], hits])
        self.generation += 1
        self._log()

    # ------------------------------------------------------------ meta levels
    def _after_application(self, level: int) -> None:
        """Report matured operators to their creators; replace the worst now and then."""
        if level > self.s.depth:
            return
        for op in self.levels[level]:
            if not op.reported and op.applied >= self.s.window:
                self._credit_creator(op)
        self.applications[level] += 1
        if self.applications[level] % self.s.replace_every == 0:
            self._replace(level)

    def _credit_creator(self, op: Operator) -> None:
        op.reported = True
        if op.creator < 0 or op.level + 1 > self.s.depth:
            return
        creator = next((o for o in self.levels[op.level + 1] if o.uid == op.creator), None)
        if creator is None:
            return
        gain = max(0.0, op.fitness(0.0) - op.parent_fitness)
        creator.record(gain, self.s.window)
        self._after_application(op.level + 1)

    def _replace(self, level: int) -> None:
        pool = self.levels[level]
        sc = dict(zip((o.uid for o in pool), self._scores(level), strict=True))
        ripe = [o for o in pool if o.applied >= self.s.min_trials
                or (self.economy is not None and o.credit <= 0)]
        if len(ripe) < 2:
            return
        ties = self.rng.random(len(ripe))
        victim = ripe[min(range(len(ripe)), key=lambda k: (sc[ripe[k].uid], ties[k]))]
        others = [o for o in pool if o is not victim]
        cand = [others[k] for k in self.rng.integers(len(others), size=min(3, len(others)))]
        parent = max(cand, key=lambda o: sc[o.uid])
        mate = others[int(self.rng.integers(len(others)))]
        code, creator = None, -1
        if level < self.s.depth:
            for _ in range(self.s.max_tries):
                maker = self._choose(level + 1)
                self._pay(maker)
                code, reason = apply_operator(self.m, maker.code, maker.arity,
                                              [parent.code, mate.code], OP_TOKENS, OP_MAX_LEN,
                                              self.rng)
                if code is not None:
                    creator = maker.uid
                    break
                self._reject(reason)
                maker.record(-self.s.rejection_penalty, self.s.window, rejected=True)
        if code is None:
            code = self._fixed_vary([parent.code, mate.code], level)
        pool.remove(victim)
        self.removed.append(victim)
        if self.economy is not None:
            self.economy.close(victim)
        child = Operator(self._new_uid(), level, code, parent.arity,
                         f"made by #{creator}" if creator > 0 else "made by the fixed operators",
                         creator=creator, parent_fitness=sc[parent.uid],
                         born=self.evals)
        pool.append(child)
        if self.economy is not None:
            self.economy.open(child, self.s.endowment)
        del self.removed[:-50]

    def _log(self) -> None:
        rec: dict[str, Any] = {"evals": self.evals, "best": float(self.fit.max()),
                               "hits": int(self.hits.max())}
        for lv in range(1, self.s.depth + 1):
            sc = [self._score(o, lv) for o in self.levels[lv]]
            rec[f"ops{lv}_max"] = float(max(sc))
            rec[f"ops{lv}_mean"] = float(np.mean(sc))
        self.history.append(rec)

    def run(self) -> dict[str, Any]:
        """Generations until a program solves every case or the budget is spent, or until
        ``max_idle`` generations in a row evaluated nothing (every child rejected or a copy:
        the operators have stalled, and the run ends rather than loop)."""
        idle = 0
        while not self.solved_at and self.evals < self.s.evaluations and idle < self.s.max_idle:
            before = self.evals
            self.step()
            idle = idle + 1 if self.evals == before else 0
        self.stalled = idle >= self.s.max_idle
        return self.summary()

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "solved": bool(self.solved_at), "evals_to_solve": self.solved_at,
            "evaluations": self.evals, "generations": self.generation,
            "best_fitness": float(self.fit.max()), "best_hits": int(self.hits.max()),
            "best_program": disassemble([int(t) for t in self.pop[int(np.argmax(self.fit))]]),
            "rejections": dict(self.rejections), "stalled": self.stalled,
        }
        if self.s.depth:
            out["operators"] = {lv: [o.to_json() for o in sorted(
                self.levels[lv], key=lambda o: -self._score(o, lv))]
                for lv in range(1, self.s.depth + 1)}
        if self.economy is not None:
            out["credit_total"] = self.economy.total()
            out["credit_expected"] = self.economy.initial + self.economy.external
        return out


__all__ = [
    "N_EXTENDED",
    "OP_TOKENS",
    "SEEDS",
    "Economy",
    "MetaGP",
    "Operator",
    "Problem",
    "Settings",
    "apply_operator",
    "check_child",
    "make_problem",
    "parity",
    "regression",
    "stack_effect",
    "subtree_crossover",
    "subtree_mutation",
    "tree_nodes",
]
