"""Self-modifying policies (SMP): program cells whose own instructions change their probabilities.

Schmidhuber, Zhao & Schraudolph, "Reinforcement learning with self-modifying policies", in
Learning to Learn, Kluwer 1997 (LTL97), section 3; Schmidhuber, Zhao & Wiering, Machine Learning
28:105-130 (1997) (ML97), section 4 ("incremental self-improvement", IS).

The machine, in a few lines:

1. ``m`` program cells; cell ``i`` holds a probability distribution ``P[i]`` over the ``n_ops``
   instruction codes (all uniform at birth). ``n`` real-valued work cells ``c``. IP points at a
   program cell (initially 0).
2. With ``IP = i``: sample instruction ``B_j`` from ``P[i]``, its ``N_j`` arguments from the
   following cells' distributions, execute it, move IP to the next instruction slot (``width``
   cells per slot) unless it jumped.
3. Learning instructions (primitive learning algorithms, PLAs) change ``P`` itself: IncProb,
   DecProb, MoveDist. Since they are sampled from ``P`` too, the policy can change how it changes
   itself. EndSelfMod / PrepEval end a self-modification sequence (SMS); the success-story
   algorithm (:mod:`metahook.rsi.ssa`, whose stack is :mod:`metahook.core.ssa_stack`) later
   keeps it or undoes it.
4. A minimum-probability guard: a PLA that would push any probability below ``MinP`` is refused,
   so no instruction ever becomes impossible (LTL97 section 2).
5. Time: one step per full scan of a cell's distribution (sampling, changing, pushing, popping).

Glossary: ``m`` program cells, ``n_ops`` codes = instructions, ``P`` (``SMP_ij`` in LTL97,
``P_ij`` in ML97) the policy, ``c_k`` work cells, ``IP`` instruction pointer, ``lam`` (λ) the PLA
step, ``MinP`` the guard, SMS a self-modification sequence, ``R`` cumulative reward.

:mod:`.machine` is the numba fast path, :mod:`.reference` the slow pure-Python reference (a
separate implementation, checked against the fast one by a differential test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metahook.core.ssa_stack import (
    AGENT_ENTRY_CAPACITY,
    AGENT_TAG_CAPACITY,
    N_COUNTS,
    N_ENTRIES,
    N_TAGS,
    TAG_WIDTH,
    SSAStack,
    agent_stacks_state,
    restore_agent_stacks,
)
from metahook.machines.smp import machine as fast
from metahook.machines.smp.instructions import EnvInstruction, InstructionSet

__all__ = ["EnvInstruction", "InstructionSet", "SMPGroup", "SMPParams", "SMPState", "fast"]


@dataclass(frozen=True)
class SMPParams:
    """The machine's constants."""

    n_cells: int = 64  # m, a multiple of the instruction set's width
    n_work: int = 0  # n work cells
    lam: float = 0.3  # λ of IncProb / DecProb
    minp: float = 0.004  # MinP guard
    eval_delay: int = 1  # reward events between an SMS's end and its SSA call
    prepeval_unit: int = 1  # PrepEval(a1) waits 1 + a1*prepeval_unit reward events
    sms_max_steps: int = 1_000_000  # an SMS open longer is ended as if by EndSelfMod
    eval_max_steps: int = 2**62  # an evaluation waits at most this long for its reward events
    ssa: bool = True  # SSA on (modifications can be undone) or off (they all stay)
    ssa_top_only: bool = False  # ML97's literal pop rule (top pair only) instead of the chain

    def validate(self, iset: InstructionSet) -> None:
        if self.n_cells < iset.width or self.n_cells % iset.width:
            raise ValueError(f"n_cells must be a positive multiple of the slot width {iset.width}")
        if not 0.0 < self.lam < 1.0:
            raise ValueError("lam must be in (0, 1)")
        if not 0.0 < self.minp < 1.0 / iset.n_ops:
            raise ValueError(f"minp must be in (0, 1/n_ops = {1.0 / iset.n_ops:.4g})")
        if self.n_work < 0 or self.eval_delay < 1 or self.prepeval_unit < 0:
            raise ValueError("n_work >= 0, eval_delay >= 1, prepeval_unit >= 0 required")
        if self.sms_max_steps < 1 or self.eval_max_steps < 1:
            raise ValueError("sms_max_steps and eval_max_steps must be >= 1")


@dataclass
class SMPState:
    """One SMP's arrays (see :mod:`.machine`) and its SSA stack."""

    iset: InstructionSet
    params: SMPParams
    P: np.ndarray = field(init=False)
    c: np.ndarray = field(init=False)
    iregs: np.ndarray = field(init=False)
    fregs: np.ndarray = field(init=False)
    ssa: SSAStack = field(init=False)

    def __post_init__(self) -> None:
        self.params.validate(self.iset)
        n_ops = self.iset.n_ops
        self.P = np.full((self.params.n_cells, n_ops), 1.0 / n_ops)
        self.c = np.zeros(self.params.n_work)
        self.iregs = np.zeros(fast.N_IREGS, dtype=np.int64)
        self.iregs[fast.MODS_ENABLED] = 1
        self.fregs = np.zeros(fast.N_FREGS)
        self.ssa = SSAStack(self.params.n_cells, n_ops, AGENT_TAG_CAPACITY, AGENT_ENTRY_CAPACITY)
        self.kind = self.iset.kind
        self.arity = self.iset.arity
        self.env_id = self.iset.env_id
        p = self.params
        ip = np.zeros(fast.N_IPARAMS, dtype=np.int64)
        ip[fast.P_WIDTH] = self.iset.width
        ip[fast.P_EVAL_DELAY] = p.eval_delay
        ip[fast.P_PREPEVAL_UNIT] = p.prepeval_unit
        ip[fast.P_SMS_MAX_STEPS] = p.sms_max_steps
        ip[fast.P_SSA_ON] = int(p.ssa)
        ip[fast.P_EVAL_MAX_STEPS] = p.eval_max_steps
        ip[fast.P_SSA_TOP_ONLY] = int(p.ssa_top_only)
        self.iparams = ip
        self.fparams = np.array([p.lam, p.minp])

    @property
    def time(self) -> int:
        return int(self.iregs[fast.TIME])

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The machine and its SSA stack as the compiled life loops take them (``machine``)."""
        return (self.P, self.c, self.iregs, self.fregs, self.kind, self.arity, self.env_id,
                self.iparams, self.fparams, self.ssa.tags, self.ssa.entries, self.ssa.mark,
                self.ssa.counts)

    @property
    def R(self) -> float:
        return float(self.fregs[fast.R_CUM])

    def step(self, u: np.ndarray, upos: np.ndarray, out: np.ndarray) -> int:
        """One instruction (growing the SSA stack if it is full); returns the event code."""
        while True:
            ev = fast.smp_step(
                self.P, self.c, self.iregs, self.fregs, self.kind, self.arity, self.env_id,
                self.iparams, self.fparams, self.ssa.tags, self.ssa.entries, self.ssa.mark,
                self.ssa.counts, u, upos, out,
            )
            if ev != fast.EV_STACK_FULL:
                return int(ev)
            self.ssa.grow(tags=1, rows=self.iset.width)

    def reward(self, r: float, event: bool) -> int:
        return int(fast.smp_reward(
            self.P, self.iregs, self.fregs, self.iparams, self.ssa.tags, self.ssa.entries,
            self.ssa.counts, float(r), bool(event),
        ))

    def most_likely_program(self) -> str:
        return self.iset.disassemble(np.argmax(self.P, axis=1))

    def state_dict(self) -> dict[str, Any]:
        return {"P": self.P.copy(), "c": self.c.copy(), "iregs": self.iregs.copy(),
                "fregs": self.fregs.copy(), "ssa": self.ssa.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.P = np.array(state["P"], dtype=np.float64)
        self.c = np.array(state["c"], dtype=np.float64)
        self.iregs = np.array(state["iregs"], dtype=np.int64)
        self.fregs = np.array(state["fregs"], dtype=np.float64)
        self.ssa.load_state_dict(state["ssa"])


class SMPGroup:
    """``k`` SMPs with the same instruction set and constants, stacked on a leading axis.

    Compiled multi-agent loops take these arrays whole and work on ``P[a]``, ``tags[a]``, ...;
    :meth:`grow` enlarges the SSA stacks of all agents when one of them is full.
    """

    def __init__(self, iset: InstructionSet, params: SMPParams, k: int) -> None:
        params.validate(iset)
        self.iset, self.params, self.k = iset, params, int(k)
        n_ops, m = iset.n_ops, params.n_cells
        self.P = np.full((k, m, n_ops), 1.0 / n_ops)
        self.c = np.zeros((k, params.n_work))
        self.iregs = np.zeros((k, fast.N_IREGS), dtype=np.int64)
        self.iregs[:, fast.MODS_ENABLED] = 1
        self.fregs = np.zeros((k, fast.N_FREGS))
        self.tags = np.zeros((k, AGENT_TAG_CAPACITY, TAG_WIDTH))
        self.entries = np.zeros((k, AGENT_ENTRY_CAPACITY, 1 + n_ops))
        self.mark = np.full((k, m), -1, dtype=np.int64)
        self.counts = np.zeros((k, N_COUNTS), dtype=np.int64)
        self.kind, self.arity, self.env_id = iset.kind, iset.arity, iset.env_id
        self.iparams = SMPState(iset, params).iparams
        self.fparams = np.array([params.lam, params.minp])

    def arrays(self) -> tuple[np.ndarray, ...]:
        """All agents' arrays as the compiled multi-agent loops take them (``machine``)."""
        return (self.P, self.c, self.iregs, self.fregs, self.kind, self.arity, self.env_id,
                self.iparams, self.fparams, self.tags, self.entries, self.mark, self.counts)

    def grow(self) -> None:
        """Double the SSA stack capacity of every agent (contents kept)."""
        t = np.zeros((self.k, 2 * self.tags.shape[1], TAG_WIDTH))
        t[:, : self.tags.shape[1]] = self.tags
        e = np.zeros((self.k, 2 * self.entries.shape[1], self.entries.shape[2]))
        e[:, : self.entries.shape[1]] = self.entries
        self.tags, self.entries = t, e

    def stack_size(self, a: int) -> int:
        """Tags plus saved rows on agent ``a``'s stack."""
        return int(self.counts[a, N_TAGS] + self.counts[a, N_ENTRIES])

    def state_dict(self) -> dict[str, Any]:
        return {"P": self.P, "c": self.c, "iregs": self.iregs, "fregs": self.fregs,
                **agent_stacks_state(self.tags, self.entries, self.mark, self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.P = np.array(state["P"], dtype=np.float64)
        self.c = np.array(state["c"], dtype=np.float64)
        self.iregs = np.array(state["iregs"], dtype=np.int64)
        self.fregs = np.array(state["fregs"], dtype=np.float64)
        self.tags, self.entries, self.mark, self.counts = restore_agent_stacks(
            state, 1 + self.iset.n_ops)
