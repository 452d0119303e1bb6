"""The initial proof searcher: proof techniques and their bias-optimal schedule (BIOPS).

Schmidhuber (2003, sec. 3.1–3.2; 2009) starts the Gödel machine with a Bias-Optimal Proof Search:
proof techniques w (programs of the language L) are tested in Levin's manner, each receiving run
time in proportion to its prior probability P(w). Ours: in phase i = 0, 1, 2, … every technique
that has not yet run gets a budget of ``floor(2^i · P(w) · c0)`` searcher cycles; all our techniques
are straight-line L code whose length in cycles is known in advance, so a technique starts only in
the first phase whose budget covers it (starting it earlier could only be aborted and wasted), and
it runs once: technique w finishes in phase ⌈log2(cost(w)/P(w))⌉, as in Levin search, without
the cycles Levin search would spend on runs cut short.
A technique starts with an empty proof and scratch area (``proof`` and ``s^p`` are reset, as in
the paper) and ends with ``HALT``.

The technique set is a function of the searcher description ``p.searcher`` (part of the
rewritable software) and of the number of arms; each technique pairs a candidate switchprog with a
*tactic*:

- ``direct``: set switchprog, ``state2theorem`` the software, pick ``t1`` = now + an upper bound on
  the wall time its own remaining instructions take at σ searcher cycles per pull (the search
  cost charged to the remaining lifetime), frame the state to t1, instantiate both utility axioms,
  combine, ask LIN (z3 + kernel) for the target theorem, ``check()``;
- ``hasty``: the same proof for ``t1`` = now + 1: the theorem may be true, but t1 has passed when
  ``check()`` runs, so it must not switch;
- ``bluff``: proves the target for the candidate, then overwrites switchprog with another program
  before ``check()`` (a deliberately wrong rewrite that must not be executed);
- ``unsupported``: asks LIN for the target from the environment axioms alone (no proof exists).

Candidates: for each arm k, ``SETPOL k; SETSIG 0`` (exploit arm k, stop searching) and
``SETPOL k`` (exploit arm k, keep searching), and ``SETSIG 0`` (stop searching). The naive searcher
(``p.searcher = (0,)``) weights arm k by 2^-k (it knows nothing of the means) and the tactics by
fixed weights; ``(1,)`` weights candidates uniformly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from metahook.rsi.godel import isa
from metahook.rsi.godel.isa import Costs

SP_X = 0       # candidate switchprog words
SP_BAD = 24    # the bluff's substitute
SP_T1 = 62     # t1

TACTIC_WEIGHTS = {"hasty": 0.3, "bluff": 0.3, "direct": 0.25, "unsupported": 0.15}


@dataclass(frozen=True)
class Technique:
    """A proof technique: straight-line L code, its prior P(w) and its length in cycles."""

    name: str
    code: tuple[tuple[int, int], ...]
    prob: float
    cost: int
    candidate: tuple[int, ...]
    tactic: str


class _Asm:
    """Emits L code and adds up its cycles (the costs are the hardware's)."""

    def __init__(self, costs: Costs) -> None:
        self.costs = costs
        self.code: list[tuple[int, int]] = []
        self.cycles: list[int] = []

    def op(self, op: int, arg: int = 0, cost: int | None = None) -> None:
        self.code.append((op, arg))
        self.cycles.append(self.costs.technique_cost(op) if cost is None else cost)

    def push(self, v: int) -> None:
        self.op(isa.PUSH, v)

    def push_param(self, base: int, stride: int) -> None:
        """Push ``base + stride·t1`` (t1 read back from scratch)."""
        self.push(SP_T1)
        self.op(isa.RSP)
        self.push(stride)
        self.op(isa.MUL)
        self.push(base)
        self.op(isa.ADD)

    def write_words(self, words: tuple[int, ...], at: int) -> None:
        for i, v in enumerate(words):
            self.push(v)
            self.push(at + i)
            self.op(isa.WSP)

    def rule(self, kind: int, m: int, n: int, *, param: bool = False, lin_premises: int = 0
             ) -> None:
        if param:
            self.push_param(kind, isa.N_RULES)
        else:
            self.push(kind)
        self.push(m)
        self.push(n)
        self.op(isa.RULE, cost=self.costs.technique_cost(isa.RULE, rule=kind,
                                                          lin_premises=lin_premises))

    def getax(self, kind: int, *, param: bool) -> None:
        if param:
            self.push_param(kind, isa.N_AXIOM_KINDS)
        else:
            self.push(kind)
        self.op(isa.GETAX)


def _tactic_code(tactic: str, cand: tuple[int, ...], bad: tuple[int, ...], n_arms: int,
                 costs: Costs) -> tuple[tuple[tuple[int, int], ...], int]:
    asm = _Asm(costs)
    asm.write_words(cand, SP_X)
    asm.push(SP_X)
    asm.push(SP_X + len(cand))
    asm.op(isa.SETSP, cost=costs.technique_cost(isa.SETSP, words=len(cand)))
    asm.push(0)
    asm.push(3)
    asm.op(isa.S2T)                     # thm 0: policy, sigma, searcher, switchprog at t_s

    body = _Asm(costs)                  # everything after the TIME that fixes t1
    if tactic == "unsupported":
        body.getax(isa.ENV, param=False)                      # thm 1
        body.getax(isa.ENV, param=False)                      # thm 2
        body.rule(isa.LIN, 1, 2, param=True, lin_premises=2 * (n_arms + 1))
    else:
        body.rule(isa.FRAME, 0, 0, param=True)                # thm 1: the state at t1
        body.getax(isa.UTIL_SWITCH, param=True)               # thm 2
        body.rule(isa.MP, 1, 2)                               # thm 3: U1@t1 >= ...
        body.getax(isa.UTIL_CONT, param=True)                 # thm 4
        body.rule(isa.MP, 1, 4)                               # thm 5: U0@t1 <= ...
        body.getax(isa.ENV, param=False)                      # thm 6: the means
        body.rule(isa.CONJ, 3, 5)                             # thm 7
        body.rule(isa.LIN, 7, 6, param=True, lin_premises=2 + n_arms + 1)  # thm 8: target
        if tactic == "bluff":
            body.write_words(bad, SP_BAD)
            body.push(SP_BAD)
            body.push(SP_BAD + len(bad))
            body.op(isa.SETSP, cost=costs.technique_cost(isa.SETSP, words=len(bad)))
    body.op(isa.CHECK)
    c_rem = costs.basic * (1 + 12 if tactic != "hasty" else 1 + 4) + sum(body.cycles)

    asm.op(isa.TIME)
    if tactic == "hasty":
        asm.push(1)
        asm.op(isa.ADD)
    else:  # t1 = now + C + pull·(C // σ + 2): C cycles of search take at most C//σ + 1 pulls
        asm.push(c_rem)
        asm.op(isa.ADD)
        asm.push(c_rem)
        asm.op(isa.SIGMA)
        asm.op(isa.DIV)
        asm.push(2)
        asm.op(isa.ADD)
        asm.push(costs.pull)
        asm.op(isa.MUL)
        asm.op(isa.ADD)
    asm.push(SP_T1)
    asm.op(isa.WSP)
    asm.code.extend(body.code)
    asm.cycles.extend(body.cycles)
    asm.op(isa.HALT)
    return tuple(asm.code), sum(asm.cycles)


def candidates(n_arms: int) -> list[tuple[tuple[int, ...], float]]:
    """Candidate switchprogs (flat words) with the naive searcher's weights."""
    out: list[tuple[tuple[int, ...], float]] = []
    for k in range(n_arms):
        w = 2.0 ** -k
        out.append(((isa.SETPOL, k, isa.SETSIG, 0), w / 2))
        out.append(((isa.SETPOL, k), w / 2))
    out.append(((isa.SETSIG, 0), 0.25))
    return out


def make_techniques(searcher: tuple[int, ...], n_arms: int, costs: Costs) -> list[Technique]:
    """The technique set of searcher description ``searcher`` (see the module docstring)."""
    kind = searcher[0] if searcher else 0
    cands = candidates(n_arms)
    if kind == 1:
        cands = [(c, 1.0) for c, _ in cands]
    out: list[Technique] = []
    for cand, w_cand in cands:
        bad = (isa.SETPOL, 0) if cand[:2] != (isa.SETPOL, 0) else (isa.SETPOL, n_arms - 1)
        for tactic, w_tac in TACTIC_WEIGHTS.items():
            code, cost = _tactic_code(tactic, cand, bad, n_arms, costs)
            name = f"{tactic}[{isa.disassemble(isa.decode_switchprog(cand) or ())}]"
            out.append(Technique(name, code, w_cand * w_tac, cost, cand, tactic))
    total = sum(t.prob for t in out)
    return [Technique(t.name, t.code, t.prob / total, t.cost, t.candidate, t.tactic) for t in out]


@dataclass
class Biops:
    """Levin's schedule over the techniques (see the module docstring); plain data, resumable."""

    techniques: list[Technique]
    c0: float = 1.0
    phase: int = 0
    cursor: int = 0
    done: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.done:
            self.done = [False] * len(self.techniques)

    def budget(self, w: int) -> int:
        return math.floor(2.0 ** self.phase * self.techniques[w].prob * self.c0)

    @property
    def exhausted(self) -> bool:
        return all(self.done)

    def next(self) -> tuple[int, int] | None:
        """The next technique to run and its budget, or ``None`` when every technique has run."""
        while not self.exhausted:
            while self.cursor < len(self.techniques):
                w = self.cursor
                self.cursor += 1
                if not self.done[w] and self.budget(w) >= self.techniques[w].cost:
                    return w, self.budget(w)
            # end of a phase: skip ahead to the first phase in which some technique fits
            need = min(math.ceil(math.log2(max(t.cost / (t.prob * self.c0), 1.0)))
                       for t, d in zip(self.techniques, self.done, strict=True) if not d)
            self.phase = max(self.phase + 1, need)
            self.cursor = 0
        return None

    def finish(self, w: int) -> None:
        self.done[w] = True
