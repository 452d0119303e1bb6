"""The Gödel machine's hardware: state s, a cycle counter, and the executive that runs p.

Schmidhuber (2003, sec. 2): a life of discrete cycles t = 1..T; a fixed transition function
updates the state s, whose named parts are ``time``, the input ``x``, the output ``y`` and the
software ``p``. Ours:

- ``time``: the cycle counter; every instruction adds its cost (:mod:`.isa`);
- ``y``/``x``: the arm pulled and the reward it returned (a Bernoulli bandit, :class:`Bandit`);
- ``p`` (:class:`~.isa.Software`): the policy (a cycle of ``PULL a`` instructions), the searcher's
  share σ (cycles of proof search per pull) and the searcher's description, from which the proof
  techniques are generated (:mod:`.biops`);
- ``switchprog``, ``switchbit``, the ``proof`` store, the technique's scratch ``s^p`` and data
  stack, and a per-component record of the last write (read by ``check()``).

The executive (hard-wired, like the paper's F): repeat { one policy instruction (a pull); then the
proof searcher runs technique instructions until it has used at least σ cycles } until T. The only
way to change p is a switch: ``check()`` finds the last theorem to be a target theorem about a time
t1 whose hypotheses hold, sets switchbit, waits until t1 and then executes switchprog, after which
a changed policy starts at its first instruction and the searcher restarts from the new p.

When nothing but pulls can happen any more (σ = 0, or every technique has run) the remaining pulls
are drawn in one vectorised batch (``fast=True``); ``fast=False`` steps them one by one, the
reference the tests compare the batch with. With ``rng=None`` the hardware runs in *expected*
mode: it draws nothing and only counts pulls per arm (used for exact counterfactual audits).

The hardware follows the stepping contract: :meth:`Hardware.advance` runs a budget of machine
cycles and returns what happened in them (target theorems proven, ``check()`` refusals, switches,
the end of the life); :meth:`Hardware.state_dict` / :meth:`Hardware.load_state_dict` give the whole
state s, the searcher's process state, the bookkeeping and the random stream as checkpoint data
(the proof store as the kernel's derivation steps, which the kernel replays on load; the prover
keeps no state between calls). However a life is sliced and checkpointed, it ends in the same
state as a life run in one go.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from metahook.core.seeding import restore_generator
from metahook.rsi.godel import isa
from metahook.rsi.godel.axioms import AxiomSystem
from metahook.rsi.godel.biops import Biops, Technique, make_techniques
from metahook.rsi.godel.isa import Software
from metahook.rsi.godel.kernel import Kernel, KernelError, Theorem
from metahook.rsi.godel.logic import (
    COMPONENTS,
    InCheck,
    Lin,
    LinCon,
    Quiet,
    StateEq,
    target_goal,
)
from metahook.rsi.godel.prover import ProverStats, find_certificate

Event = dict[str, Any]

Prover = Callable[[Sequence[LinCon], LinCon, int, ProverStats], "list[Fraction] | None"]
VALUE_LIMIT = 1 << 62


def default_prover(premises: Sequence[LinCon], goal: LinCon, rlimit: int,
                   stats: ProverStats) -> list[Fraction] | None:
    return find_certificate(premises, goal, rlimit=rlimit, stats=stats)


class _Halt(Exception):
    """The running technique stops (with its reason)."""


@dataclass
class Stats:
    """What happened in a life (JSON-able except ``switches`` entries' nested values)."""

    switches: list[dict[str, Any]] = field(default_factory=list)
    halts: Counter[str] = field(default_factory=Counter)
    check_failures: Counter[str] = field(default_factory=Counter)
    techniques_run: int = 0
    search_cycles: int = 0
    idle_cycles: int = 0
    switch_cycles: int = 0
    targets_proven: int = 0
    kernel_rejections: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    prover: ProverStats = field(default_factory=ProverStats)

    _COUNTERS = ("techniques_run", "search_cycles", "idle_cycles", "switch_cycles",
                 "targets_proven", "kernel_rejections")

    def state_dict(self, n_arms: int) -> dict[str, Any]:
        """Checkpoint data: rationals of the switch records as strings, the attempts as columns."""
        switches = [{"fractions": {k: str(v) for k, v in rec.items() if isinstance(v, Fraction)},
                     "values": {k: v for k, v in rec.items() if not isinstance(v, Fraction)}}
                    for rec in self.switches]
        a = self.attempts
        counts = (np.stack([x["counts"] for x in a]) if a
                  else np.zeros((0, n_arms), dtype=np.int64))
        return {
            "switches": switches,
            "halts": dict(self.halts),
            "check_failures": dict(self.check_failures),
            **{k: getattr(self, k) for k in self._COUNTERS},
            "attempts": {"technique": [x["technique"] for x in a], "t1": [x["t1"] for x in a],
                         "time": [x["time"] for x in a], "proven": [x["proven"] for x in a],
                         "counts": counts},
            "prover": {"calls": self.prover.calls, "found": self.prover.found,
                       "rlimit": self.prover.rlimit},
        }

    @classmethod
    def from_state_dict(cls, st: dict[str, Any]) -> Stats:
        out = cls()
        for rec in st["switches"]:
            out.switches.append({**rec["values"],
                                 **{k: Fraction(v) for k, v in rec["fractions"].items()}})
        out.halts = Counter({str(k): int(v) for k, v in st["halts"].items()})
        out.check_failures = Counter({str(k): int(v) for k, v in st["check_failures"].items()})
        for k in cls._COUNTERS:
            setattr(out, k, int(st[k]))
        a = st["attempts"]
        counts = np.asarray(a["counts"], dtype=np.int64)
        out.attempts = [{"technique": str(name), "t1": int(t1), "time": int(t), "proven": bool(pr),
                         "counts": counts[i].copy()}
                        for i, (name, t1, t, pr) in enumerate(zip(a["technique"], a["t1"],
                                                                  a["time"], a["proven"],
                                                                  strict=True))]
        p = st["prover"]
        out.prover = ProverStats(int(p["calls"]), int(p["found"]), int(p["rlimit"]))
        return out


def target_time(th: Theorem) -> int | None:
    """t1 if ``th`` is a target theorem ``H ⊢ U1@t1 − U0@t1 > 0``, else ``None``."""
    c = th.concl
    if not isinstance(c, Lin) or len(c.cons) != 1:
        return None
    atoms = sorted(a for a, _ in c.cons[0].coeffs)
    if len(atoms) != 2 or not atoms[0].startswith("U0@"):
        return None
    try:
        t1 = int(atoms[0][3:])
    except ValueError:
        return None
    return t1 if c.cons[0] == target_goal(t1) else None


class Hardware:
    """One life of the machine; see the module docstring."""

    def __init__(
        self,
        axioms: AxiomSystem,
        software: Software,
        *,
        rng: np.random.Generator | None,
        c0: float = 1.0,
        rlimit: int = 2_000_000,
        prover: Prover = default_prover,
        fast: bool = True,
        start_time: int = 0,
    ) -> None:
        self.ax = axioms
        self.costs = axioms.costs
        self.T = axioms.T
        self.kernel = Kernel(axioms.get_axiom, axioms.instantiate)
        self.rng = rng
        self.c0 = c0
        self.rlimit = rlimit
        self.prover = prover
        self.fast = fast
        self.means = np.array([float(m) for m in axioms.means])
        # the state s
        self.time = int(start_time)
        self.p = software
        self.ip = 0
        self.switchprog: tuple[int, ...] = ()
        self.switchbit = 0
        self.last_write = {c: self.time for c in COMPONENTS}
        self.sp = [0] * self.costs.sp_size
        self.proof: list[Theorem] = []
        self.stack: list[int] = []
        self.x = 0
        self.y = -1
        # the searcher's process state
        self.biops = self._new_searcher()
        self.cur: int | None = None
        self.pc = 0
        self.budget_left = 0
        self.in_slice = False
        self.slice_used = 0
        # bookkeeping (not part of s)
        self.pull_counts = np.zeros(axioms.n_arms, dtype=np.int64)
        self.reward = 0
        self.log_t: list[np.ndarray] = []
        self.log_arm: list[np.ndarray] = []
        self.log_r: list[np.ndarray] = []
        self._buf: list[tuple[int, int, int]] = []
        self.stats = Stats()
        self.audit: Callable[[Hardware, int], dict[str, Any]] | None = None
        self.allow_switch = True
        self._events: list[Event] = []

    # ------------------------------------------------------------------ helpers
    def _new_searcher(self) -> Biops:
        techs = make_techniques(self.p.searcher, self.ax.n_arms, self.costs)
        return Biops(techs, self.c0)

    @property
    def techniques(self) -> list[Technique]:
        return self.biops.techniques

    def component(self, name: str) -> tuple[int, ...]:
        if name == "policy":
            return self.p.policy
        if name == "sigma":
            return (self.p.sigma,)
        if name == "searcher":
            return self.p.searcher
        if name == "switchprog":
            return self.switchprog
        raise KeyError(name)

    def clone(self) -> Hardware:
        """A copy that runs on independently (shares only immutable parts)."""
        other = copy.copy(self)
        other.last_write = dict(self.last_write)
        other.sp = list(self.sp)
        other.proof = list(self.proof)
        other.stack = list(self.stack)
        other.biops = Biops(self.biops.techniques, self.biops.c0, self.biops.phase,
                            self.biops.cursor, list(self.biops.done))
        other.pull_counts = self.pull_counts.copy()
        other.log_t, other.log_arm, other.log_r, other._buf = [], [], [], []
        other.stats = Stats()
        other.audit = None
        other._events = []
        return other

    def expected_reward(self, counts: np.ndarray | None = None) -> Fraction:
        c = self.pull_counts if counts is None else counts
        return sum((int(n) * m for n, m in zip(c, self.ax.means, strict=True)), Fraction(0))

    def pulls(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All pulls so far: (completion cycle, arm, reward)."""
        self._flush()
        if not self.log_t:
            e = np.zeros(0, dtype=np.int64)
            return e, e.copy(), e.copy()
        return (np.concatenate(self.log_t), np.concatenate(self.log_arm),
                np.concatenate(self.log_r))

    def _flush(self) -> None:
        if self._buf:
            arr = np.array(self._buf, dtype=np.int64)
            self.log_t.append(arr[:, 0])
            self.log_arm.append(arr[:, 1])
            self.log_r.append(arr[:, 2])
            self._buf = []

    # ------------------------------------------------------------------ the executive
    def advance(self, cycles: int) -> list[Event]:
        """Run the executive for ``cycles`` more machine cycles (or to T); return the events.

        The hardware stops at the first instruction boundary at which the cycle counter has
        reached ``time + cycles``, so the last instruction may overrun the budget (a pull, one
        technique instruction, or ``check()`` waiting until t1 and the switch that follows).
        Slicing a life never changes it. The events are dicts with ``event`` one of ``proof`` (a
        target theorem entered the proof store), ``refused`` (``check()`` found no licence to
        switch), ``switch`` and ``end`` (the life reached T), each with the cycle it happened at.
        """
        if cycles < 0:
            raise ValueError("cycles must be >= 0")
        self._events = []
        running = self.time < self.T
        self._run(min(self.T, self.time + cycles))
        if running and self.time >= self.T:
            self._events.append({"event": "end", "time": self.time})
        events, self._events = self._events, []
        return events

    @property
    def finished(self) -> bool:
        """The life has reached T."""
        return self.time >= self.T

    def run(self, until: int | None = None) -> None:
        """Run the life to T (or until the cycle counter reaches ``until``)."""
        self._run(self.T if until is None else min(until, self.T))
        self._events = []

    def _run(self, stop: int) -> None:
        while self.time < stop:
            if self.in_slice:
                self._continue_slice(stop)
                continue
            idle_search = self.p.sigma <= 0 or (self.biops.exhausted and self.cur is None)
            if idle_search:
                if not self.p.policy:
                    self.time = stop
                    break
                if self.fast:
                    self._fast_forward(stop)
                    continue
            self._round()

    def _pull(self, arm: int) -> None:
        self.y = arm
        self.pull_counts[arm] += 1
        r = 0
        if self.rng is not None:
            r = int(self.rng.random() < self.means[arm])
        self.x = r
        self.reward += r
        self._buf.append((self.time, arm, r))

    def _round(self) -> None:
        if self.p.policy:
            if self.time + self.costs.pull > self.T:
                self.time = self.T
                return
            arm = self.p.policy[self.ip]
            self.ip = (self.ip + 1) % len(self.p.policy)
            self.time += self.costs.pull
            self._pull(arm)
        if self.p.sigma > 0 and not (self.biops.exhausted and self.cur is None):
            self.in_slice = True
            self.slice_used = 0

    def _fast_forward(self, stop: int) -> None:
        """Every remaining cycle is a pull: draw the pulls until ``stop`` in one batch (reference:
        ``fast=False``; the stream gives the same numbers drawn in one batch or in several)."""
        policy = self.p.policy
        left = (self.T - self.time) // self.costs.pull
        n = min(left, -(-(stop - self.time) // self.costs.pull))
        if n > 0:
            idx = (self.ip + np.arange(n)) % len(policy)
            arms = np.asarray(policy, dtype=np.int64)[idx]
            times = self.time + self.costs.pull * np.arange(1, n + 1, dtype=np.int64)
            if self.rng is not None:
                rewards = (self.rng.random(n) < self.means[arms]).astype(np.int64)
            else:
                rewards = np.zeros(n, dtype=np.int64)
            self._flush()
            self.log_t.append(times)
            self.log_arm.append(arms)
            self.log_r.append(rewards)
            np.add.at(self.pull_counts, arms, 1)
            self.reward += int(rewards.sum())
            self.ip = int((self.ip + n) % len(policy))
            self.y, self.x = int(arms[-1]), int(rewards[-1])
        self.time = self.T if n == left else self.time + n * self.costs.pull

    def _continue_slice(self, stop: int) -> None:
        while self.in_slice and self.slice_used < self.p.sigma and self.time < self.T:
            if self.time >= stop:
                return  # the slice goes on in the next advance
            if self.cur is None:
                nxt = self.biops.next()
                if nxt is None:
                    break
                self.cur, self.budget_left = nxt
                self.pc = 0
                self.proof = []
                self.stack = []
                self.sp = [0] * self.costs.sp_size
                self.stats.techniques_run += 1
            self._step()
        self.in_slice = False

    # ------------------------------------------------------------------ the interpreter
    def _end_technique(self, reason: str) -> None:
        assert self.cur is not None
        self.stats.halts[reason] += 1
        self.biops.finish(self.cur)
        self.cur = None

    def _pop(self, n: int) -> list[int]:
        if len(self.stack) < n:
            raise _Halt("stack underflow")
        vals = self.stack[-n:] if n else []
        del self.stack[len(self.stack) - n:]
        return vals

    def _push(self, v: int) -> None:
        if abs(v) > VALUE_LIMIT:
            raise _Halt("value overflow")
        if len(self.stack) >= self.costs.max_stack:
            raise _Halt("stack overflow")
        self.stack.append(v)

    def _thm(self, i: int) -> Theorem:
        if not 0 <= i < len(self.proof):
            raise _Halt("no such theorem")
        return self.proof[i]

    def _append(self, th: Theorem) -> None:
        if len(self.proof) >= self.costs.max_proof:
            raise _Halt("proof store full")
        self.proof.append(th)

    def _cost(self, op: int) -> int:
        c = self.costs
        if op == isa.RULE and len(self.stack) >= 3:
            k, m, n = self.stack[-3:]
            kind = k % isa.N_RULES if k >= 0 else -1
            premises = 0
            if kind == isa.LIN:
                for i in (m, n):
                    if 0 <= i < len(self.proof) and isinstance(self.proof[i].concl, Lin):
                        premises += len(self.proof[i].concl.cons)  # type: ignore[union-attr]
            return c.technique_cost(op, rule=kind, lin_premises=premises)
        if op == isa.SETSP and len(self.stack) >= 2:
            m, n = self.stack[-2:]
            return c.technique_cost(op, words=max(0, min(n, c.sp_size) - max(m, 0)))
        return c.technique_cost(op)

    def _step(self) -> None:
        """Execute one instruction of the current technique (its cycles count to the slice)."""
        assert self.cur is not None
        code = self.techniques[self.cur].code
        if self.pc >= len(code):
            self._end_technique("halt")
            return
        op, arg = code[self.pc]
        cost = self._cost(op)
        if cost > self.budget_left:
            self._end_technique("budget")
            return
        if self.time + cost > self.T:
            self.time = self.T
            return
        t0 = self.time
        self.pc += 1
        self.budget_left -= cost
        self.time += cost
        self.slice_used += cost
        self.stats.search_cycles += cost
        try:
            self._execute(op, arg, t0)
        except _Halt as stop:
            self._end_technique(str(stop))
        except KernelError as err:
            if "certificate" in str(err):
                self.stats.kernel_rejections += 1
            self._end_technique(f"rule failed: {str(err).split(':')[0]}")

    def _execute(self, op: int, arg: int, t0: int) -> None:
        if op == isa.HALT:
            raise _Halt("halt")
        if op not in isa.TECHNIQUE_OPS:
            raise _Halt("invalid instruction")
        args = self._pop(isa.POPS[op])
        if op == isa.PUSH:
            self._push(arg)
        elif op == isa.TIME:
            self._push(t0)
        elif op == isa.SIGMA:
            self._push(self.p.sigma)
        elif op in (isa.ADD, isa.SUB, isa.MUL):
            a, b = args
            self._push(a + b if op == isa.ADD else a - b if op == isa.SUB else a * b)
        elif op == isa.DIV:
            a, b = args
            if b == 0:
                raise _Halt("division by zero")
            self._push(a // b)
        elif op == isa.DUP:
            self._push(args[0])
            self._push(args[0])
        elif op == isa.SWAP:
            self._push(args[1])
            self._push(args[0])
        elif op == isa.DROP:
            pass
        elif op == isa.WSP:
            val, addr = args
            if not 0 <= addr < len(self.sp):
                raise _Halt("scratch address out of range")
            self.sp[addr] = val
        elif op == isa.RSP:
            (addr,) = args
            if not 0 <= addr < len(self.sp):
                raise _Halt("scratch address out of range")
            self._push(self.sp[addr])
        elif op == isa.GETAX:
            self._append(self.kernel.get_axiom(args[0]))
        elif op == isa.RULE:
            self._apply_rule(*args)
        elif op == isa.DELTHM:
            self._thm(args[0])
            del self.proof[args[0]]
        elif op == isa.SETSP:
            m, n = args
            if not 0 <= m <= n <= len(self.sp):
                raise _Halt("scratch range out of range")
            words = tuple(self.sp[m:n])
            if isa.decode_switchprog(words) is None:
                raise _Halt("invalid switchprog")
            self.switchprog = words
            self.last_write["switchprog"] = self.time
        elif op == isa.S2T:
            m, n = args
            if not 0 <= m <= n < len(COMPONENTS):
                raise _Halt("no such state components")
            facts = [StateEq(COMPONENTS[i], t0, self.component(COMPONENTS[i]))
                     for i in range(m, n + 1)]
            self._append(self.kernel.state_fact(facts))
        elif op == isa.CHECK:
            self._check()

    def _apply_rule(self, k: int, m: int, n: int) -> None:
        if k < 0:
            raise _Halt("no such rule")
        kind, param = k % isa.N_RULES, k // isa.N_RULES
        a, b = self._thm(m), self._thm(n)
        if kind == isa.MP:
            self._append(self.kernel.mp(a, b))
        elif kind == isa.CONJ:
            self._append(self.kernel.conj(a, b))
        elif kind == isa.FRAME:
            self._append(self.kernel.frame(a, param))
        else:  # LIN: z3 searches a Farkas certificate, the kernel checks it
            if not (isinstance(a.concl, Lin) and isinstance(b.concl, Lin)):
                raise KernelError("lin: premises must be linear facts")
            premises = a.concl.cons + b.concl.cons
            if len(premises) > self.costs.max_lin_premises:
                raise _Halt("too many premises")
            goal = target_goal(param)
            cert = self.prover(premises, goal, self.rlimit, self.stats.prover)
            assert self.cur is not None
            self.stats.attempts.append({"technique": self.techniques[self.cur].name,
                                        "t1": param, "time": self.time, "proven": cert is not None,
                                        "counts": self.pull_counts.copy()})
            if cert is None:
                raise _Halt("no proof found")
            self._append(self.kernel.lin(a, b, goal, cert))
            self.stats.targets_proven += 1
            self._events.append({"event": "proof", "time": self.time, "t1": param,
                                 "technique": self.techniques[self.cur].name})

    # ------------------------------------------------------------------ check() and the switch
    def check_failure(self, t_c: int) -> tuple[str | None, int]:
        """Why the last theorem does not license a switch now (``None`` if it does), and t1."""
        if not self.proof:
            return "no theorem", -1
        th = self.proof[-1]
        t1 = target_time(th)
        if t1 is None:
            return "not a target theorem", -1
        if t_c > t1:
            return "too late for t1", t1
        assert self.cur is not None
        code = self.techniques[self.cur].code
        ends = self.pc >= len(code) or code[self.pc][0] == isa.HALT
        for h in th.hyps:
            if isinstance(h, InCheck):
                if h.t1 != t1 or not ends:
                    return "in-check hypothesis fails", t1
            elif isinstance(h, Quiet):
                if h.t1 != t1 or self.last_write[h.comp] > h.t_s:
                    return "state changed since the snapshot", t1
            else:
                return "unknown hypothesis", t1
        return None, t1

    def _check(self) -> None:
        reason, t1 = self.check_failure(self.time)
        if reason is None and not self.allow_switch:
            reason = "switching disabled"
        if reason is not None:
            self.stats.check_failures[reason] += 1
            self._events.append({"event": "refused", "time": self.time, "t1": t1,
                                 "reason": reason})
            return
        self.switchbit = 1
        idle = min(t1, self.T) - self.time
        self.stats.idle_cycles += idle
        self.slice_used += idle
        self.time = min(t1, self.T)
        if self.time >= self.T:
            return
        self._switch(t1)

    def _switch(self, t1: int) -> None:
        assert self.cur is not None
        technique = self.techniques[self.cur]
        record: dict[str, Any] = {
            "t1": t1,
            "technique": technique.name,
            "switchprog": isa.disassemble(isa.decode_switchprog(self.switchprog) or ()),
            "search_cycles": self.stats.search_cycles,
            "techniques_run": self.stats.techniques_run,
            "counts_at_t1": self.pull_counts.copy(),
        }
        if self.audit is not None:
            record.update(self.audit(self, t1))
        self.stats.switches.append(record)
        self._events.append({"event": "switch", "time": t1, "t1": t1,
                             "technique": technique.name, "switchprog": record["switchprog"]})
        code = isa.decode_switchprog(self.switchprog)
        assert code is not None
        new, c_x = isa.apply_switchprog(code, self.p, self.ax.n_arms, self.costs)
        self.time = min(self.T, self.time + c_x)
        self.stats.switch_cycles += c_x
        for comp, old, now in (("policy", self.p.policy, new.policy),
                               ("sigma", self.p.sigma, new.sigma),
                               ("searcher", self.p.searcher, new.searcher)):
            if old != now:
                self.last_write[comp] = self.time
        if new.policy != self.p.policy:
            self.ip = 0  # a new policy starts at its first instruction; an unchanged one runs on
        self.p = new
        self.switchbit = 0
        self.biops = self._new_searcher()
        self.cur = None
        self.proof, self.stack = [], []
        self.sp = [0] * self.costs.sp_size
        self.in_slice = False

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The whole life so far as checkpoint data (numbers, strings, lists, dicts, arrays).

        The technique set is not saved: it is a function of ``p.searcher`` (:mod:`.biops`), rebuilt
        on load; the proof store is saved as the kernel's derivation steps.
        """
        times, arms, rewards = self.pulls()
        self.log_t, self.log_arm, self.log_r = ([times], [arms], [rewards]) if times.size \
            else ([], [], [])
        return {
            "T": self.T,
            "time": self.time,
            "software": {"policy": list(self.p.policy), "sigma": self.p.sigma,
                         "searcher": list(self.p.searcher)},
            "ip": self.ip,
            "switchprog": list(self.switchprog),
            "switchbit": self.switchbit,
            "last_write": dict(self.last_write),
            "scratch": list(self.sp),
            "proof": Kernel.export_theorems(self.proof),
            "stack": list(self.stack),
            "x": self.x,
            "y": self.y,
            "searcher": {"phase": self.biops.phase, "cursor": self.biops.cursor,
                         "done": list(self.biops.done), "technique": self.cur, "pc": self.pc,
                         "budget_left": self.budget_left, "in_slice": self.in_slice,
                         "slice_used": self.slice_used},
            "pull_counts": self.pull_counts.copy(),
            "reward": self.reward,
            "pulls": {"time": times, "arm": arms, "reward": rewards},
            "stats": self.stats.state_dict(self.ax.n_arms),
            "allow_switch": self.allow_switch,
            "rng": None if self.rng is None else self.rng.bit_generator.state,
        }

    def load_state_dict(self, st: dict[str, Any]) -> None:
        """Continue the life saved by :meth:`state_dict` (on hardware built with the same axioms
        and configuration; its random stream, if any, is set to the saved one)."""
        if int(st["T"]) != self.T:
            raise ValueError(f"checkpoint of a life of T={st['T']} cycles, hardware has T={self.T}")
        if (st["rng"] is None) != (self.rng is None):
            raise ValueError("checkpoint and hardware disagree on expected mode (rng=None)")
        sw = st["software"]
        self.time = int(st["time"])
        self.p = Software(tuple(int(a) for a in sw["policy"]), int(sw["sigma"]),
                          tuple(int(v) for v in sw["searcher"]))
        self.ip = int(st["ip"])
        self.switchprog = tuple(int(w) for w in st["switchprog"])
        self.switchbit = int(st["switchbit"])
        self.last_write = {c: int(st["last_write"][c]) for c in COMPONENTS}
        self.sp = [int(v) for v in st["scratch"]]
        self.proof = self.kernel.import_theorems(st["proof"])
        self.stack = [int(v) for v in st["stack"]]
        self.x, self.y = int(st["x"]), int(st["y"])
        se = st["searcher"]
        self.biops = self._new_searcher()
        if len(se["done"]) != len(self.biops.techniques):
            raise ValueError("checkpoint's searcher does not match the technique set")
        self.biops.phase, self.biops.cursor = int(se["phase"]), int(se["cursor"])
        self.biops.done = [bool(d) for d in se["done"]]
        self.cur = None if se["technique"] is None else int(se["technique"])
        self.pc, self.budget_left = int(se["pc"]), int(se["budget_left"])
        self.in_slice, self.slice_used = bool(se["in_slice"]), int(se["slice_used"])
        self.pull_counts = np.asarray(st["pull_counts"], dtype=np.int64).copy()
        self.reward = int(st["reward"])
        pulls = st["pulls"]
        times = np.asarray(pulls["time"], dtype=np.int64)
        self.log_t, self.log_arm, self.log_r = ([], [], []) if not times.size else (
            [times.copy()], [np.asarray(pulls["arm"], dtype=np.int64).copy()],
            [np.asarray(pulls["reward"], dtype=np.int64).copy()])
        self._buf = []
        self.stats = Stats.from_state_dict(st["stats"])
        self.allow_switch = bool(st["allow_switch"])
        if self.rng is not None:
            restore_generator(self.rng, st["rng"])
        self._events = []
