"""The instruction set of the Gödel machine's hardware: one table, the single source of truth.

One small stack language L serves all three kinds of code the machine holds (Schmidhuber 2003,
sec. 2): the *policy* (``PULL a`` instructions, cycled by the executive), the *proof techniques*
tested by the proof searcher (stack arithmetic, reads of s, and the six proof instructions), and
*switchprog* (writes into the software p). Every instruction has a cost in cycles; the costs are
also hardware axioms (``get-axiom`` of a ``COST`` instance), so proofs can count time.

Encodings used by the proof instructions:

- ``get-axiom(n)``: ``n = schema + N_AXIOM_KINDS·param`` with schema ``ENV`` (the environment's
  means), ``UTIL_SWITCH``/``UTIL_CONT`` (utility axioms at time ``param``), ``COST`` (cost of the
  instruction with opcode ``param``), ``LIFETIME``;
- ``apply-rule(k, m, n)``: ``k = rule + N_RULES·param`` with rule ``MP``, ``CONJ``,
  ``FRAME`` (to time ``param``), ``LIN`` (goal: the target theorem at ``t1 = param``);
- ``state2theorem(m, n)``: components ``m..n`` of :data:`~.logic.COMPONENTS`;
- ``set-switchprog(m, n)``: ``switchprog := s^p[m:n]``, flat ``op, arg`` pairs of switchprog ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# --------------------------------------------------------------------------- opcodes
HALT, PUSH, TIME, SIGMA, ADD, SUB, MUL, DIV, DUP, SWAP, DROP, WSP, RSP = range(13)
GETAX, RULE, DELTHM, SETSP, CHECK, S2T = 20, 21, 22, 23, 24, 25
PULL = 30
SETPOL, APPPOL, SETSIG, SETSRCH = 40, 41, 42, 43

NAMES: dict[int, str] = {
    HALT: "HALT", PUSH: "PUSH", TIME: "TIME", SIGMA: "SIGMA", ADD: "ADD", SUB: "SUB",
    MUL: "MUL", DIV: "DIV", DUP: "DUP", SWAP: "SWAP", DROP: "DROP", WSP: "WSP", RSP: "RSP",
    GETAX: "get-axiom", RULE: "apply-rule", DELTHM: "delete-theorem", SETSP: "set-switchprog",
    CHECK: "check", S2T: "state2theorem", PULL: "PULL",
    SETPOL: "SETPOL", APPPOL: "APPPOL", SETSIG: "SETSIG", SETSRCH: "SETSRCH",
}
#: how many operands each technique instruction pops from the data stack
POPS: dict[int, int] = {
    HALT: 0, PUSH: 0, TIME: 0, SIGMA: 0, ADD: 2, SUB: 2, MUL: 2, DIV: 2, DUP: 1, SWAP: 2,
    DROP: 1, WSP: 2, RSP: 1, GETAX: 1, RULE: 3, DELTHM: 1, SETSP: 2, CHECK: 0, S2T: 2,
}
TECHNIQUE_OPS = frozenset(POPS)
SWITCHPROG_OPS = frozenset({SETPOL, APPPOL, SETSIG, SETSRCH})
PROOF_OPS = frozenset({GETAX, RULE, DELTHM, SETSP, CHECK, S2T})  # the paper's six; no others

# axiom schemata and inference rules
ENV, UTIL_SWITCH, UTIL_CONT, COST, LIFETIME = range(5)
N_AXIOM_KINDS = 8
MP, CONJ, FRAME, LIN = range(4)
N_RULES = 4


@dataclass(frozen=True)
class Costs:
    """Cycles per instruction (hardware axioms) and the hardware's storage limits."""

    pull: int = 10
    basic: int = 1          # PUSH, TIME, SIGMA, arithmetic, stack, scratch, HALT, delete-theorem
    axiom: int = 50         # get-axiom
    rule: int = 50          # apply-rule with MP, CONJ, FRAME
    lin_base: int = 400     # apply-rule with LIN (the call to the prover): base + per premise
    lin_per: int = 2
    s2t: int = 50           # state2theorem
    check: int = 50
    setsp: int = 2          # set-switchprog: base + one per word copied
    write: int = 300        # each switchprog instruction (rewriting p)
    max_lin_premises: int = 32
    sp_size: int = 64
    max_proof: int = 64
    max_stack: int = 64

    def technique_cost(self, op: int, *, lin_premises: int = 0, words: int = 0,
                       rule: int = -1) -> int:
        """Cycles of one technique instruction (``rule``/``lin_premises``/``words`` as needed)."""
        if op == GETAX:
            return self.axiom
        if op == RULE:
            if rule == LIN:
                return self.lin_base + self.lin_per * lin_premises
            return self.rule
        if op == S2T:
            return self.s2t
        if op == CHECK:
            return self.check
        if op == SETSP:
            return self.setsp + words
        return self.basic

    @property
    def c_max(self) -> int:
        """The most cycles any single searcher instruction can take."""
        return max(self.axiom, self.rule, self.lin_base + self.lin_per * self.max_lin_premises,
                   self.s2t, self.check, self.setsp + self.sp_size, self.basic)

    @property
    def c_min_proof(self) -> int:
        """Fewest proof-instruction cycles from an empty proof to a successful ``check()``.

        A target theorem ``H ⊢ U1@t1 − U0@t1 > 0`` can only come from the LIN rule with a lower
        bound on ``U1@t1`` and an upper bound on ``U0@t1`` among its premises; those come only from
        modus ponens with the two utility schemata, which need state facts at ``t1``; those come
        only from ``state2theorem`` followed by the frame rule. So at least: state2theorem, frame,
        two get-axiom, two MP, one LIN with two premise constraints, check.
        """
        return (self.s2t + self.rule + 2 * self.axiom + 2 * self.rule
                + self.lin_base + 2 * self.lin_per + self.check)


class Software(NamedTuple):
    """The rewritable software p: the policy (arms pulled in a cycle), the searcher's share σ of
    cycles per pull, and the proof searcher's description."""

    policy: tuple[int, ...]
    sigma: int
    searcher: tuple[int, ...]


def decode_switchprog(words: tuple[int, ...]) -> tuple[tuple[int, int], ...] | None:
    """Flat ``op, arg`` words → switchprog instructions (``None`` if not valid switchprog)."""
    if len(words) % 2:
        return None
    code = tuple((words[i], words[i + 1]) for i in range(0, len(words), 2))
    for op, arg in code:
        if op not in SWITCHPROG_OPS or arg < 0:
            return None
    return code


def apply_switchprog(
    code: tuple[tuple[int, int], ...], p: Software, n_arms: int, costs: Costs
) -> tuple[Software, int]:
    """The software after running ``code`` on p, and the cycles it takes.

    ``SETPOL a``: policy := (a,); ``APPPOL a``: append arm a; ``SETSIG s``: σ := s;
    ``SETSRCH v``: searcher := (v,). Arms outside 0..n_arms-1 are ignored (the write is a no-op
    that still costs its cycles).
    """
    policy, sigma, searcher = p
    for op, arg in code:
        if op == SETPOL and arg < n_arms:
            policy = (arg,)
        elif op == APPPOL and arg < n_arms:
            policy = (*policy, arg)
        elif op == SETSIG:
            sigma = arg
        elif op == SETSRCH:
            searcher = (arg,)
    return Software(policy, sigma, searcher), costs.write * len(code)


def disassemble(code: tuple[tuple[int, int], ...]) -> str:
    """Human-readable L code (operands shown for PUSH, PULL and the switchprog ops)."""
    out = []
    for op, arg in code:
        name = NAMES.get(op, f"?{op}")
        out.append(f"{name} {arg}" if op in (PUSH, PULL) or op in SWITCHPROG_OPS else name)
    return " ".join(out)
