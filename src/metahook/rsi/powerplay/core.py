"""The PowerPlay loop, generic over a solver and a task space.

Schmidhuber, "PowerPlay: training an increasingly general problem solver by continually searching
for the simplest still unsolvable problem", Frontiers in Psychology 4:313 (2013), Algorithm 1
(Variant I) and Sec. 3; Srivastava, Steunebrink & Schmidhuber, "First experiments with
PowerPlay", Neural Networks 41:130-136 (2013). Repeat forever:

1. Search pairs (new task ``t``, modification ``m`` of the current solver ``s``) in order of their
   combined cost, Levin style: in phase ``k = first_phase, first_phase + 1, ...`` the pair gets
   ``2^(k - l(t)) P(m)`` steps, ``l(t)`` the task's description length in bits and ``P(m)`` the
   modification's probability (the domain's own bias-optimal search spends ``2^(k - l(t))`` on
   all modifications of ``t``); time limits double from phase to phase.
2. **Task invention**: ``t`` must be new: the current solver ``s`` fails it. This check is part
   of the pair's time: it runs ``s`` for at most the pair's share, and a task whose check does
   not end within it waits for a later phase (its result is kept until ``s`` changes).
3. **Solver modification**: the domain's search looks for ``m`` with ``s' = m(s)`` solving ``t``.
4. **Correctness demonstration**: ``s'`` must solve ``t`` and every task of the repertoire. With
   **dependency tracking** only the tasks whose last run used a component that ``m`` changes
   are re-run (the others provably behave as before); without it, all are re-run.
5. Accept the first pair that passes; add ``t`` to the repertoire, ``s := s'``; back to phase
   ``first_phase``.

A **compression task** (Sec. 3.1's speed-up / simplification tasks) is the other branch of the
task code: "solve every task of the repertoire in fewer total steps than ``s`` does"; accepting
it adds no task but a faster solver. A domain may define another measure to lower: an optional
method ``compression_cost(used, steps) -> tuple[int, ...]`` over the repertoire's used components
and steps, compared lexicographically (without it, ``(sum(steps),)``). Time is the domain's own
step count (machine instructions, network steps), charged to invention (novelty runs),
modification (the search) and demonstration (re-runs); the sums are the paper's cost measure.

The loop is a :class:`metahook.search.protocols.ProgramSearch`: ``advance(phases)`` runs that
many phases (a phase ends with an acceptance or with every pair of the phase tried) and returns
the acceptances; ``state_dict`` / ``load_state_dict`` resume it to the identical repertoire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from metahook.core.seeding import restore_generator, rng_for

TaskT = TypeVar("TaskT")


@dataclass(frozen=True)
class Outcome:
    """One run of a solver on one task: solved?, steps used, the components it used;
    ``timed_out``: stopped by the caller's step limit (below the task's own) undecided."""

    solved: bool
    steps: int
    used: frozenset[int] = frozenset()
    timed_out: bool = False


@dataclass
class Candidate:
    """A modification the domain's search found: the components it changes, what it cost."""

    changed: frozenset[int]
    search_steps: int
    kind: str  # the domain's word for it (e.g. "prolongation", "fresh", "weights")
    info: dict[str, Any] = field(default_factory=dict)


class Domain(Protocol[TaskT]):
    """What PowerPlay is generic over: a modifiable solver and a task space (tasks are hashable
    values; ``task_json`` / ``task_from_json`` convert them for checkpoints)."""

    #: the smallest share (steps) worth searching with; smaller pairs are skipped
    min_share: int

    def tasks(self, max_bits: int) -> Sequence[tuple[TaskT, int]]:
        """The (non-compression) tasks of at most ``max_bits`` bits with their lengths, simplest
        first."""
        ...

    def run(self, task: TaskT, candidate: Candidate | None, trace: bool,
            max_steps: int | None = None) -> Outcome:
        """The current solver (``candidate`` None) or the candidate's solver on ``task``;
        ``trace``: fill ``Outcome.used``; ``max_steps``: stop earlier than the task's own step
        limit (then ``Outcome.timed_out`` if undecided)."""
        ...

    def search(self, task: TaskT | None, share: int, repertoire: Sequence[TaskT],
               cap: int) -> tuple[Candidate | None, int]:
        """Look for a modification within ``share`` steps that makes the solver solve ``task``
        (``None``: the compression task, every repertoire task in fewer than ``cap`` steps in
        all) and the repertoire tasks the search must run; returns (candidate or None, steps
        spent)."""
        ...

    def accept(self, candidate: Candidate) -> None:
        """Make the candidate's solver the current one."""
        ...

    def discard(self, candidate: Candidate) -> None:
        """Forget the candidate."""
        ...

    def task_json(self, task: TaskT) -> Any:
        ...

    def task_from_json(self, data: Any) -> TaskT:
        ...

    def state_dict(self) -> dict[str, Any]:
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ...


@dataclass
class Acceptance:
    """One accepted pair, with what it cost (the experiment's log line)."""

    index: int
    task: Any  # the task as JSON, None for a compression task
    compression: bool
    kind: str
    bits: int
    phase: int
    share: int
    repertoire: int  # tasks in the repertoire before this one
    retested: int  # tasks re-run by the correctness demonstration
    retested_full: int  # what re-running every task would have been
    reuse: bool  # the new solver's run of the task used components older than the change
    steps_invention: int
    steps_search: int
    steps_demo: int
    steps_total: int  # everything so far (the paper's time)
    solver_steps: int  # the new solver's steps on the whole repertoire
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """PowerPlay's own knobs (the domain has its own)."""

    first_phase: int = 8  # phase k gives a pair 2^(k - bits) steps
    max_phase: int = 24  # give up when a phase beyond this finds nothing
    max_share: int = 1 << 20  # no pair gets more (the task's own step limit)
    track_dependencies: bool = True
    compression: bool = True  # try compression tasks
    order: str = "simplest"  # or "random": tasks of a pool, uniform prior, random order
    random_bits: int = 12  # the random order's pool: tasks of at most this many bits

    def validate(self) -> None:
        if self.first_phase < 0 or self.max_phase < self.first_phase:
            raise ValueError("need 0 <= first_phase <= max_phase")
        if self.max_share < 1:
            raise ValueError("max_share must be >= 1")
        if self.order not in ("simplest", "random"):
            raise ValueError(f"order must be 'simplest' or 'random', got {self.order!r}")
        if self.random_bits < 1:
            raise ValueError("random_bits must be >= 1")


class PowerPlay(Generic[TaskT]):
    """The loop of the module docstring over ``domain``."""

    def __init__(self, domain: Domain[TaskT], settings: Settings = Settings(),
                 seed: int = 0) -> None:
        settings.validate()
        self.domain, self.settings = domain, settings
        self.rng = rng_for("powerplay-order", seed)
        self.repertoire: list[TaskT] = []
        self.used: list[frozenset[int]] = []  # components of each task's last demonstrated run
        self.steps: list[int] = []  # the current solver's steps on each task
        self.accepted: list[Acceptance] = []
        self.phase = settings.first_phase
        self.finished = False
        self.cost = {"invention": 0, "search": 0, "demo": 0}
        # task -> the current solver fails it (bool), or ran that many steps undecided
        self._novel: dict[TaskT, bool | int] = {}
        # tasks already searched with the whole max_share (None: the compression task)
        self._done_at_max: set[TaskT | None] = set()

    # ------------------------------------------------------------ schedule of one phase
    def _schedule(self, k: int) -> list[tuple[TaskT | None, int]]:
        s = self.settings
        items: list[tuple[TaskT | None, int]] = []
        if s.compression and self.repertoire:
            items.append((None, 1))  # the compression task: one bit
        if s.order == "simplest":
            # only tasks whose share 2^(k - bits) reaches the domain's min_share
            items.extend(self.domain.tasks(k - (self.domain.min_share - 1).bit_length()))
        else:
            pool = [t for t, _ in self.domain.tasks(s.random_bits)]
            order = self.rng.permutation(len(pool))
            items.extend((pool[int(i)], 1 + s.random_bits) for i in order)
        return items

    @property
    def total_steps(self) -> int:
        return sum(self.cost.values())

    # ------------------------------------------------------------ the loop
    def advance(self, phases: int) -> list[Acceptance]:
        """Run up to ``phases`` phases; return the pairs accepted meanwhile."""
        events: list[Acceptance] = []
        for _ in range(phases):
            if self.finished:
                break
            k = self.phase
            if k > self.settings.max_phase:
                self.finished = True
                break
            found = self._phase(k)
            if found is None:
                self.phase += 1
            else:
                events.append(found)
                self.phase = self.settings.first_phase
        return events

    def _phase(self, k: int) -> Acceptance | None:
        d, s = self.domain, self.settings
        for task, bits in self._schedule(k):
            share = 1 << max(0, k - bits) if k >= bits else 0
            if share < d.min_share:
                continue
            if task in self._done_at_max:
                continue
            if share >= s.max_share:
                share = s.max_share
                self._done_at_max.add(task)
            if task is not None and not self._is_novel(task, share):
                continue
            cap = sum(self.steps) if task is None else 0
            cand, spent = d.search(task, share, self.repertoire, cap)
            self.cost["search"] += spent
            if cand is None:
                continue
            acc = self._demonstrate(task, bits, k, share, cand)
            if acc is not None:
                return acc
        return None

    def _is_novel(self, task: TaskT, share: int) -> bool:
        """Does the current solver fail ``task``? Decided within ``share`` steps, else False
        for now (the pair waits for a larger share)."""
        known = self._novel.get(task)
        if isinstance(known, bool):
            return known
        if known is not None and known >= share:
            return False
        out = self.domain.run(task, None, False, share)
        self.cost["invention"] += out.steps
        if out.timed_out:
            self._novel[task] = share
            return False
        self._novel[task] = not out.solved
        return not out.solved

    def _demonstrate(self, task: TaskT | None, bits: int, k: int, share: int,
                     cand: Candidate) -> Acceptance | None:
        d, s = self.domain, self.settings
        n = len(self.repertoire)
        if s.track_dependencies:
            affected = [i for i in range(n) if self.used[i] & cand.changed]
        else:
            affected = list(range(n))
        new_used, new_steps = list(self.used), list(self.steps)
        demo = 0
        ok = True
        for i in affected:
            out = d.run(self.repertoire[i], cand, True)
            demo += out.steps
            if not out.solved:
                ok = False
                break
            new_used[i], new_steps[i] = out.used, out.steps
        reuse = False
        if ok and task is not None:  # the rule's first half, within the task's own limit
            old = d.run(task, None, False)
            self.cost["invention"] += old.steps
            ok = not old.solved
        if ok and task is not None:
            out = d.run(task, cand, True)
            demo += out.steps
            ok = out.solved
            new_used.append(out.used)
            new_steps.append(out.steps)
            reuse = bool(out.used - cand.changed)
        if ok and task is None:
            ok = self._compression_cost(new_used, new_steps) < \
                self._compression_cost(self.used, self.steps)
            reuse = any(bool(new_used[i] - cand.changed) for i in affected)
        self.cost["demo"] += demo
        if not ok:
            d.discard(cand)
            return None
        d.accept(cand)
        acc = Acceptance(
            index=len(self.accepted) + 1, task=None if task is None else d.task_json(task),
            compression=task is None, kind=cand.kind, bits=bits, phase=k, share=share,
            repertoire=n, retested=len(affected), retested_full=n, reuse=reuse,
            steps_invention=self.cost["invention"], steps_search=self.cost["search"],
            steps_demo=self.cost["demo"], steps_total=self.total_steps,
            solver_steps=sum(new_steps), info=cand.info)
        if task is not None:
            self.repertoire.append(task)
        self.used, self.steps = new_used, new_steps
        self.accepted.append(acc)
        self._novel.clear()
        self._done_at_max.clear()
        return acc

    def _compression_cost(self, used: Sequence[frozenset[int]],
                          steps: Sequence[int]) -> tuple[int, ...]:
        """What a compression must lower: the domain's ``compression_cost(used, steps)`` if it
        has one (a tuple, compared lexicographically), else the repertoire's total steps."""
        cost = getattr(self.domain, "compression_cost", None)
        return (sum(steps),) if cost is None else tuple(cost(used, steps))

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        d = self.domain
        return {
            "settings": asdict(self.settings),
            "repertoire": [d.task_json(t) for t in self.repertoire],
            "used": [sorted(u) for u in self.used], "steps": list(self.steps),
            "accepted": [asdict(a) for a in self.accepted],
            "phase": self.phase, "finished": self.finished, "cost": dict(self.cost),
            "rng": self.rng.bit_generator.state, "domain": d.state_dict(),
            "novel": [[d.task_json(t), v] for t, v in self._novel.items()],
            "done_at_max": [None if t is None else d.task_json(t) for t in self._done_at_max],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        d = self.domain
        self.settings = Settings(**state["settings"])
        self.repertoire = [d.task_from_json(t) for t in state["repertoire"]]
        self.used = [frozenset(int(c) for c in u) for u in state["used"]]
        self.steps = [int(x) for x in state["steps"]]
        self.accepted = [Acceptance(**a) for a in state["accepted"]]
        self.phase = int(state["phase"])
        self.finished = bool(state["finished"])
        self.cost = {k: int(v) for k, v in state["cost"].items()}
        restore_generator(self.rng, state["rng"])
        d.load_state_dict(state["domain"])
        self._novel = {d.task_from_json(t): v if isinstance(v, bool) else int(v)
                       for t, v in state["novel"]}
        self._done_at_max = {None if t is None else d.task_from_json(t)
                             for t in state["done_at_max"]}


__all__ = ["Acceptance", "Candidate", "Domain", "Outcome", "PowerPlay", "Settings"]
