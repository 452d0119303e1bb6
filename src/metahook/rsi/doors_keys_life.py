"""Compiled life loops for the doors-and-keys task: SMP or Q(λ) agents, with SSA on or off.

ML97 section 2 / LTL97 section 2: the learner lives one life; each *basic cycle* it executes
instructions chosen by its policy; environment instructions act in the world; rewards feed the
cumulative reward ``R``; SSA calls happen when an evaluation criterion is met (here: a pending
self-modification sequence has seen its quota of reward events, see
:mod:`metahook.machines.smp.machine`).

:func:`doors_keys_cycles` runs the two-agent doors-and-keys task of LTL97. The agents take turns:
one basic cycle is one instruction of one agent (A on even cycles, B on odd ones). A sensing
instruction ``Look...(a1)`` that senses its object makes IP jump to instruction slot ``a1``.
Reaching the goal is a reward event for both agents (5.0 and 3.0); the move and turn penalties
are plain rewards.

:func:`q_doors_keys_cycles` runs the same task with two tabular Q(λ) learners
(:mod:`metahook.rl.q_lambda`), again taking turns (one action per basic cycle), on the agents'
sensor bits (:func:`dk_observe`: obstacle, own key,
own door, goal within 50 px ahead, own key carried: 32 observations) and 7 primitive actions (move,
turn right / left / around, face own key / own door / goal). With SSA on, each agent's Q-updates
since its last SSA call form one block, and every trial's end is an SSA call for both agents.

Both loops are compiled without reference counting (``_nrt=False``: nothing is allocated
inside; ``scratch_i`` (int64, >= 9) and ``scratch_f`` (float64, >= 4) are their scratch space),
which makes them an order of magnitude faster than with numba's default array bookkeeping.

The loops return to Python when it has run ``max_cycles`` cycles or filled ``trial_out``, or when
Python must refill the random stream or grow an SSA stack; ``loop_regs`` keeps the loop's own
registers (cycle count, the agent whose turn it is, the cycle the current trial began), so that it
resumes exactly where it stopped.

:class:`DoorsKeysLife` is one life of either pair of learners, driven from Python: it calls the
loops, refills the random stream, grows the SSA stacks and checkpoints; its constants are a
:class:`DoorsKeysParams`, and the SMPs' instruction set is :data:`INSTRUCTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
)
from metahook.core.state import restore_arrays
from metahook.envs import doors_keys as dk
from metahook.envs.doors_keys import (
    LOOK_OBSTACLE,
    MOVE,
    RES_END,
    RES_SENSED,
    TURN,
    TURN_DOOR,
    TURN_GOAL,
    TURN_KEY,
    dk_act,
    dk_observe,
    dk_reset,
)
from metahook.machines.smp import EnvInstruction, InstructionSet, SMPGroup, SMPParams
from metahook.machines.smp.machine import EV_ENV, IP, P_SSA_ON, P_WIDTH, smp_reward, smp_step
from metahook.rl.q_lambda import q_lambda_update, q_select

# loop_regs: the loop's registers
LOOP_CYCLE, LOOP_AGENT, LOOP_TRIAL_START, LOOP_N_OUT, LOOP_STARTED = range(5)
N_LOOP_REGS = 5
# return codes
DONE, NEED_RANDOM, STACK_FULL, OUT_FULL = range(4)
# uniforms one agent step may need: an instruction with 3 arguments, and a trial restart
_U_PER_STEP = 4 + 6


@njit(cache=True, **NO_REFCOUNT)
def _first_trial_started(fstate: np.ndarray, istate: np.ndarray, u: np.ndarray,
                         upos: np.ndarray, loop_regs: np.ndarray) -> bool:
    """Start the life's first trial unless it is running; False if more uniforms are needed."""
    if loop_regs[LOOP_STARTED] == 0:
        if upos[0] + 6 > u.shape[0]:
            return False
        dk_reset(fstate, istate, u, upos)
        loop_regs[LOOP_STARTED] = 1
        loop_regs[LOOP_TRIAL_START] = loop_regs[LOOP_CYCLE]
    return True


@njit(cache=True, **NO_REFCOUNT)
def doors_keys_cycles(
    machine: tuple[np.ndarray, ...],
    u: np.ndarray, upos: np.ndarray,
    fstate: np.ndarray, istate: np.ndarray, step_px: float,
    walls: np.ndarray, doors: np.ndarray, keys: np.ndarray, goal: np.ndarray,
    loop_regs: np.ndarray, trial_out: np.ndarray, max_cycles: int, penalty_events: bool,
    scratch_i: np.ndarray, scratch_f: np.ndarray,
) -> int:
    """Run basic cycles until ``loop_regs[LOOP_CYCLE] == max_cycles`` (see the module docstring).

    ``machine``: both agents' SMP arrays and SSA stacks (:meth:`SMPGroup.arrays`).

    ``penalty_events``: the move/turn penalties count as reward events too (else only the goal
    rewards do).

    ``trial_out[i] = (length in cycles, cycle it ended, winner, stack size A, stack size B,
    time A, time B, R A, R B)`` for each finished trial.
    """
    P, c, iregs, fregs, kind, arity, env_id, iparams, fparams, tags, entries, mark, counts = (
        machine)
    out = scratch_i[0:4]
    res = scratch_f[0:4]
    w = iparams[P_WIDTH]
    m = P.shape[1]
    if not _first_trial_started(fstate, istate, u, upos, loop_regs):
        return NEED_RANDOM
    while loop_regs[LOOP_CYCLE] < max_cycles:
        a = loop_regs[LOOP_AGENT]
        if upos[0] + _U_PER_STEP > u.shape[0]:
            return NEED_RANDOM
        if iparams[P_SSA_ON] != 0 and not ssa_free(tags[a], entries[a], counts[a], w):
            return STACK_FULL
        if loop_regs[LOOP_N_OUT] >= trial_out.shape[0]:
            return OUT_FULL
        ev = smp_step(P[a], c[a], iregs[a], fregs[a], kind, arity, env_id, iparams, fparams,
                      tags[a], entries[a], mark[a], counts[a], u, upos, out)
        if ev == EV_ENV:
            action = out[0]
            dk_act(fstate, istate, a, action, out[1], step_px, walls, doors, keys, goal, res)
            if action >= LOOK_OBSTACLE:
                if res[RES_SENSED] != 0.0:
                    iregs[a, IP] = (out[1] * w) % m
            else:
                ended = res[RES_END] != 0.0
                if ended:
                    smp_reward(P[0], iregs[0], fregs[0], iparams, tags[0], entries[0], counts[0],
                               res[0], True)
                    smp_reward(P[1], iregs[1], fregs[1], iparams, tags[1], entries[1], counts[1],
                               res[1], True)
                    k = loop_regs[LOOP_N_OUT]
                    trial_out[k, 0] = loop_regs[LOOP_CYCLE] + 1 - loop_regs[LOOP_TRIAL_START]
                    trial_out[k, 1] = loop_regs[LOOP_CYCLE] + 1
                    trial_out[k, 2] = a
                    for b in range(2):
                        trial_out[k, 3 + b] = counts[b, 0] + counts[b, 1]
                        trial_out[k, 5 + b] = iregs[b, 1]
                        trial_out[k, 7 + b] = fregs[b, 0]
                    loop_regs[LOOP_N_OUT] = k + 1
                    dk_reset(fstate, istate, u, upos)
                    loop_regs[LOOP_TRIAL_START] = loop_regs[LOOP_CYCLE] + 1
                else:
                    smp_reward(P[a], iregs[a], fregs[a], iparams, tags[a], entries[a], counts[a],
                               res[a], penalty_events and res[a] != 0.0)
        loop_regs[LOOP_CYCLE] += 1
        loop_regs[LOOP_AGENT] = 1 - a
    return DONE


# the Q-learners' actions: (environment action, argument)
Q_ACTIONS = np.array(
    [[MOVE, 0], [TURN, 1], [TURN, 7], [TURN, 4], [TURN_KEY, 0], [TURN_DOOR, 0], [TURN_GOAL, 0]],
    dtype=np.int64,
)
# q_regs: the Q-learners' registers, per agent
Q_REG_STATE, Q_REG_ACTION, Q_REG_PENDING, Q_REG_TIME, Q_REG_BLOCK_OPEN = range(5)
N_Q_REGS = 5


@njit(cache=True, **NO_REFCOUNT)
def q_doors_keys_cycles(
    Q: np.ndarray, E: np.ndarray, q_regs: np.ndarray, q_rewards: np.ndarray, qparams: np.ndarray,
    ssa_on: bool, tags: np.ndarray, entries: np.ndarray, mark: np.ndarray, counts: np.ndarray,
    u: np.ndarray, upos: np.ndarray,
    fstate: np.ndarray, istate: np.ndarray, step_px: float,
    walls: np.ndarray, doors: np.ndarray, keys: np.ndarray, goal: np.ndarray,
    loop_regs: np.ndarray, trial_out: np.ndarray, max_cycles: int,
    scratch_i: np.ndarray, scratch_f: np.ndarray,
) -> int:
    """Two Q(λ) agents (see the module docstring). ``q_rewards[a] = (R, reward pending for the next
    update)``; ``qparams = (α, γ, λ, ε)``; ``trial_out`` as in :func:`doors_keys_cycles`."""
    res = scratch_f[0:4]
    obs = scratch_i[4:9]
    alpha, gamma, lam, eps = qparams[0], qparams[1], qparams[2], qparams[3]
    if not _first_trial_started(fstate, istate, u, upos, loop_regs):
        return NEED_RANDOM
    while loop_regs[LOOP_CYCLE] < max_cycles:
        a = loop_regs[LOOP_AGENT]
        if upos[0] + 8 > u.shape[0]:
            return NEED_RANDOM
        if ssa_on and not ssa_free(tags[a], entries[a], counts[a], Q.shape[1]):
            return STACK_FULL
        if loop_regs[LOOP_N_OUT] >= trial_out.shape[0]:
            return OUT_FULL
        dk_observe(fstate, istate, a, walls, doors, keys, goal, res, obs)
        s2 = obs[0] + 2 * obs[1] + 4 * obs[2] + 8 * obs[3] + 16 * obs[4]
        a2 = q_select(Q[a], s2, eps, u[upos[0]], u[upos[0] + 1])
        upos[0] += 2
        if q_regs[a, Q_REG_PENDING] != 0:
            if ssa_on and q_regs[a, Q_REG_BLOCK_OPEN] == 0:
                ssa_begin_block(tags[a], counts[a], float(q_regs[a, Q_REG_TIME]), q_rewards[a, 0])
                q_regs[a, Q_REG_BLOCK_OPEN] = 1
            pushed = q_lambda_update(Q[a], E[a], q_regs[a, Q_REG_STATE],
                                     q_regs[a, Q_REG_ACTION], q_rewards[a, 1], s2, a2,
                                     alpha, gamma, lam, ssa_on, tags[a], entries[a], mark[a],
                                     counts[a])
            if pushed < 0:
                return STACK_FULL
            q_regs[a, Q_REG_TIME] += pushed
        q_rewards[a, 1] = 0.0
        q_regs[a, Q_REG_STATE] = s2
        q_regs[a, Q_REG_ACTION] = a2
        q_regs[a, Q_REG_PENDING] = 1
        q_regs[a, Q_REG_TIME] += 1
        dk_act(fstate, istate, a, Q_ACTIONS[a2, 0], Q_ACTIONS[a2, 1], step_px, walls, doors,
               keys, goal, res)
        for b in range(2):
            q_rewards[b, 0] += res[b]
            q_rewards[b, 1] += res[b]
        if res[RES_END] != 0.0:
            k = loop_regs[LOOP_N_OUT]
            trial_out[k, 0] = loop_regs[LOOP_CYCLE] + 1 - loop_regs[LOOP_TRIAL_START]
            trial_out[k, 1] = loop_regs[LOOP_CYCLE] + 1
            trial_out[k, 2] = a
            for b in range(2):
                if ssa_on:
                    newest = counts[b, N_TAGS] - 1
                    if newest >= 0 and q_regs[b, Q_REG_TIME] > tags[b, newest, 0]:
                        q_regs[b, Q_REG_TIME] += ssa_call(tags[b], entries[b], counts[b], Q[b],
                                                   float(q_regs[b, Q_REG_TIME]), q_rewards[b, 0])
                    q_regs[b, Q_REG_BLOCK_OPEN] = 0
                trial_out[k, 3 + b] = counts[b, 0] + counts[b, 1]
                trial_out[k, 5 + b] = q_regs[b, Q_REG_TIME]
                trial_out[k, 7 + b] = q_rewards[b, 0]
            loop_regs[LOOP_N_OUT] = k + 1
            dk_reset(fstate, istate, u, upos)
            loop_regs[LOOP_TRIAL_START] = loop_regs[LOOP_CYCLE] + 1
        loop_regs[LOOP_CYCLE] += 1
        loop_regs[LOOP_AGENT] = 1 - a
    return DONE


# ---------------------------------------------------------------------------- one life
# The SMP's instruction set for this task: LTL97's general and learning instructions, then the
# environment's actions (:data:`metahook.envs.doors_keys.ACTION_NAMES`) with their arities.
GENERAL = ("JumpHome", "Jump", "IncProb", "DecProb", "MoveDist", "EndSelfMod", "PrepEval")
ENV_INSTRUCTIONS = tuple(
    EnvInstruction(n, a, i) for i, (n, a) in enumerate(zip(dk.ACTION_NAMES, dk.ACTION_ARITY,
                                                            strict=True))
)
INSTRUCTIONS = InstructionSet(GENERAL, ENV_INSTRUCTIONS)
TRIAL_COLUMNS = ("length", "end_cycle", "winner", "stack_A", "stack_B", "time_A", "time_B",
                 "R_A", "R_B")
U_BLOCK = 1 << 18  # uniforms drawn per refill of the random stream


@dataclass(frozen=True)
class DoorsKeysParams:
    """The constants of one doors-and-keys life (LTL97 section 4; defaults: the setting of the
    ``ssa-doors-keys`` experiment's full scale, whose ``Config.life_params()`` builds these)."""

    step_px: float = 40.0  # one Move, pixels
    n_cells: int = 64  # program cells per agent (16 instruction slots of 4 cells)
    lam: float = 0.3  # λ of IncProb / DecProb
    minp: float = 0.004  # MinP
    eval_delay: int = 1  # goal events between an SMS's end and its SSA call
    prepeval_unit: int = 1  # PrepEval(a1) waits 1 + a1 * prepeval_unit goal events
    sms_max_steps: int = 100_000  # an SMS open longer is closed (time steps)
    eval_max_steps: int = 2_000_000  # an evaluation waits at most this long for goal events
    penalty_events: bool = False  # move/turn penalties count as reward events (else goals only)
    ssa_rule: Literal["chain", "top"] = "chain"  # pop until the whole SSC holds / ML97's SSA.2
    q_alpha: float = 0.1
    q_gamma: float = 0.99
    q_lambda: float = 0.9
    q_eps: float = 0.1

    def smp_params(self, ssa: bool) -> SMPParams:
        """The SMP machine's constants (SSA on or off)."""
        return SMPParams(n_cells=self.n_cells, n_work=0, lam=self.lam, minp=self.minp,
                         eval_delay=self.eval_delay, prepeval_unit=self.prepeval_unit,
                         sms_max_steps=self.sms_max_steps, eval_max_steps=self.eval_max_steps,
                         ssa=ssa, ssa_top_only=self.ssa_rule == "top")


class DoorsKeysLife:
    """One life of two learners in the doors-and-keys world: SMPs (``learner="smp"``) or Q(λ)
    tables (``"q"``), SSA on or off, the world's state and the random stream, checkpointable.

    :meth:`advance` runs the compiled loop (:func:`doors_keys_cycles` or
    :func:`q_doors_keys_cycles`) in as many calls as it takes, refilling the random stream and
    growing the SSA stacks between them; ``trials`` holds one row per finished trial
    (:data:`TRIAL_COLUMNS`).
    """

    def __init__(self, params: DoorsKeysParams, learner: str, ssa: bool, seed: int) -> None:
        self.params, self.learner, self.ssa = params, learner, ssa
        self.rng = np.random.default_rng(seed)
        self.u = self.rng.random(U_BLOCK)
        self.upos = np.zeros(1, dtype=np.int64)
        self.fstate = np.zeros(dk.N_FSTATE)
        self.istate = np.zeros(dk.N_ISTATE, dtype=np.int64)
        self.loop_regs = np.zeros(N_LOOP_REGS, dtype=np.int64)
        self.trials = np.zeros((0, len(TRIAL_COLUMNS)))
        self._buf = np.zeros((4096, len(TRIAL_COLUMNS)))
        self._si = np.zeros(16, dtype=np.int64)
        self._sf = np.zeros(8)
        if learner == "smp":
            self.group = SMPGroup(INSTRUCTIONS, params.smp_params(ssa), 2)
        else:
            n_s, n_a = 32, Q_ACTIONS.shape[0]
            self.Q = np.zeros((2, n_s, n_a))
            self.E = np.zeros((2, n_s, n_a))
            self.q_regs = np.zeros((2, N_Q_REGS), dtype=np.int64)
            self.q_rewards = np.zeros((2, 2))
            self.qparams = np.array([params.q_alpha, params.q_gamma, params.q_lambda, params.q_eps])
            self.tags = np.zeros((2, AGENT_TAG_CAPACITY, TAG_WIDTH))
            self.entries = np.zeros((2, AGENT_ENTRY_CAPACITY, 1 + n_a))
            self.mark = np.full((2, n_s), -1, dtype=np.int64)
            self.counts = np.zeros((2, N_COUNTS), dtype=np.int64)

    @property
    def cycles(self) -> int:
        """Basic cycles run so far."""
        return int(self.loop_regs[LOOP_CYCLE])

    @property
    def n_trials(self) -> int:
        """Trials finished so far."""
        return int(self.trials.shape[0])

    def advance(self, cycles: int, max_trials: int) -> None:
        """Run ``cycles`` more basic cycles, or less if the life reaches ``max_trials`` trials in
        all."""
        target_cycles = self.cycles + cycles
        while self.cycles < target_cycles and self.n_trials < max_trials:
            room = max_trials - self.n_trials
            out = self._buf[: min(room, self._buf.shape[0])]
            self.loop_regs[LOOP_N_OUT] = 0
            status = self._run(out, target_cycles)
            n = int(self.loop_regs[LOOP_N_OUT])
            if n:
                self.trials = np.concatenate([self.trials, out[:n]])
            if status == NEED_RANDOM:
                self.u = self.rng.random(U_BLOCK)
                self.upos[0] = 0
            elif status == STACK_FULL:
                self._grow()

    def _run(self, out: np.ndarray, target: int) -> int:
        c = self.params
        if self.learner == "smp":
            g = self.group
            return int(doors_keys_cycles(
                g.arrays(), self.u, self.upos, self.fstate, self.istate, c.step_px, dk.WALLS,
                dk.DOORS, dk.KEYS, dk.GOAL, self.loop_regs, out, target, c.penalty_events,
                self._si, self._sf))
        return int(q_doors_keys_cycles(
            self.Q, self.E, self.q_regs, self.q_rewards, self.qparams, self.ssa, self.tags,
            self.entries, self.mark, self.counts, self.u, self.upos, self.fstate, self.istate,
            c.step_px, dk.WALLS, dk.DOORS, dk.KEYS, dk.GOAL, self.loop_regs, out, target, self._si,
            self._sf))

    def _grow(self) -> None:
        if self.learner == "smp":
            self.group.grow()
            return
        t = np.zeros((2, 2 * self.tags.shape[1], TAG_WIDTH))
        t[:, : self.tags.shape[1]] = self.tags
        e = np.zeros((2, 2 * self.entries.shape[1], self.entries.shape[2]))
        e[:, : self.entries.shape[1]] = self.entries
        self.tags, self.entries = t, e

    # ------------------------------------------------------------------ stack inspection
    def stack_tags(self, a: int) -> np.ndarray:
        """The tags ``(v, R(v))`` on agent ``a``'s SSA stack, oldest first."""
        tags, counts = (self.group.tags, self.group.counts) if self.learner == "smp" else (
            self.tags, self.counts)
        return tags[a, : counts[a, N_TAGS], :2].copy()

    def now(self, a: int) -> tuple[float, float]:
        """(time, R) of agent ``a``."""
        if self.learner == "smp":
            return float(self.group.iregs[a, 1]), float(self.group.fregs[a, 0])
        return float(self.q_regs[a, Q_REG_TIME]), float(self.q_rewards[a, 0])

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The whole life as checkpoint data."""
        s: dict[str, Any] = {
            "rng": self.rng.bit_generator.state, "u": self.u, "upos": self.upos,
            "fstate": self.fstate, "istate": self.istate, "loop_regs": self.loop_regs,
            "trials": self.trials,
        }
        if self.learner == "smp":
            s["group"] = self.group.state_dict()
        else:
            s.update(Q=self.Q, E=self.E, q_regs=self.q_regs, q_rewards=self.q_rewards,
                     **agent_stacks_state(self.tags, self.entries, self.mark, self.counts))
        return s

    def load_state_dict(self, s: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s data (the same constants and learner assumed)."""
        restore_generator(self.rng, s["rng"])
        restore_arrays(self, s, {"u": np.float64, "upos": np.int64, "fstate": np.float64,
                                 "istate": np.int64, "loop_regs": np.int64})
        self.trials = np.asarray(s["trials"], dtype=np.float64).reshape(-1, len(TRIAL_COLUMNS))
        if self.learner == "smp":
            self.group.load_state_dict(s["group"])
            return
        self.Q = np.asarray(s["Q"], dtype=np.float64)
        self.E = np.asarray(s["E"], dtype=np.float64)
        self.q_regs = np.asarray(s["q_regs"], dtype=np.int64)
        self.q_rewards = np.asarray(s["q_rewards"], dtype=np.float64)
        self.tags, self.entries, self.mark, self.counts = restore_agent_stacks(
            s, self.entries.shape[2])
