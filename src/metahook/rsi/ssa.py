"""The success-story algorithm (SSA), a wrapper that keeps only reward-accelerating modifications.

Schmidhuber, Zhao & Wiering, "Shifting inductive bias with success-story algorithm, adaptive
Levin search, and incremental self-improvement", Machine Learning 28:105-130 (1997), section 2;
Schmidhuber, Zhao & Schraudolph, "Reinforcement learning with self-modifying policies", in
Learning to Learn (Thrun & Pratt, eds.), Kluwer 1997.

The learner lives one life; time is never reset. Its policy is a matrix whose rows are the
variable components ``Pol_i``. Before the learner changes a row it reports the change here
(:meth:`SuccessStory.save`), and the old row is pushed onto the stack ``S`` -- once per block. A
*block* starts with a *tag* ``(v, R(v))`` (checkpoint time and cumulative reward) and holds the old
values of every row first modified after ``v``. At each *evaluation* (an SSA call at time ``t``)
SSA pops blocks -- restoring their rows bit for bit, newest first -- until the success-story
criterion (SSC) holds for the tags ``v_1 < v_2 < ... < v_k`` still on the stack::

    R(t)/t  <  [R(t)-R(v_1)]/(t-v_1)  <  [R(t)-R(v_2)]/(t-v_2)  <  ...  <  [R(t)-R(v_k)]/(t-v_k)

ML97's SSA compares only the top tag with the one below it (with ``v_0 = 0, R(0) = 0``) and pops
while that pair fails. Reward intake since the previous call can break a pair further down,
though (a block that looked good at the last call may have been followed by a slump), and then
the neighbour test leaves a stack that violates the SSC. We pop until the whole chain holds: the
survivors are the longest bottom prefix of the stack over which every neighbouring pair
satisfies the SSC (:func:`ssa_survivors`); when only the top pair fails, this is ML97's rule.
See docs/ssa.md, Deviations.

Every surviving block has been followed by faster reward intake, measured from its start up to
now, than every older block and than the whole life's average: a *success story*. Blocks are
judged from their start to *now*, so a modification that only sets the stage for later useful
ones is kept too -- which is how SSA credits learning how to learn.

Glossary (paper symbols):

- ``t``: the current time (the learner's own time steps); ``R(t)``: cumulative reward up to ``t``.
- ``S``: the stack; a tag is ``(v, R(v))``; ``v_i``: the checkpoint of the i-th surviving block.
- ``Pol_i``: policy component ``i`` (a row of ``policy``; for an SMP: program cell ``i``'s
  distribution over instruction codes).
- SSC: the success-story criterion above; *SSA call* / evaluation: popping until SSC holds.

Storage. The stack is four preallocated numpy arrays so that numba-compiled learners can drive it
from inside their hot loop (the ``ssa_*`` functions are ``@njit``) while Python code uses the
:class:`SuccessStory` wrapper over the same arrays:

- ``tags[k] = (v, R(v), first_entry, serial)`` for ``k < n_tags``;
- ``entries[e] = (address, old row ...)`` for ``e < n_entries``;
- ``mark[address] = serial`` of the block that has already saved that row (saved once per block);
- ``counts`` = ``[n_tags, n_entries, next_serial, blocks_popped, rows_restored, calls,
  blocks_pushed]``.

Tags are pushed by :func:`ssa_begin_block` when a block's first modification is about to happen
(see docs/ssa.md, Deviations: ML97 pushes the tag at the end of the preceding SSA call; we push it
with the first modification that follows, which never leaves an empty block).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numba import njit

from metahook.machines.jit import NO_REFCOUNT

# indices into ``counts``
N_TAGS, N_ENTRIES, SERIAL, BLOCKS_POPPED, ROWS_RESTORED, CALLS, BLOCKS_PUSHED = range(7)
N_COUNTS = 7


@njit(cache=True, **NO_REFCOUNT)
def ssa_speed(t: float, R: float, v: float, Rv: float) -> float:
    """Reward per time step from checkpoint ``(v, R(v))`` up to ``(t, R(t))``."""
    return (R - Rv) / (t - v)


@njit(cache=True, **NO_REFCOUNT)
def ssa_survivors(tags: np.ndarray, counts: np.ndarray, t: float, R: float) -> int:
    """How many tags (oldest first) may stay: the longest prefix of the stack over which the
    success-story criterion holds at ``(t, R(t))``.

    The chain ``R(t)/t < Q(v_1) < Q(v_2) < ...`` with ``Q(v) = (R(t) - R(v)) / (t - v)`` holds
    over tags ``1..k`` iff each neighbouring pair in it does, so the answer is the index of the
    first failing pair, scanning from the bottom. A tag not yet in the past (``v >= t``) cannot
    be judged; it and everything above it stay.
    """
    k = counts[N_TAGS]
    prev = R / t
    for i in range(k):
        v = tags[i, 0]
        if t <= v:
            return k
        q = (R - tags[i, 1]) / (t - v)
        if not q > prev:
            return i
        prev = q
    return k


@njit(cache=True, **NO_REFCOUNT)
def ssa_top_survives(tags: np.ndarray, counts: np.ndarray, t: float, R: float) -> bool:
    """ML97's SSA.2 test: the top block's speed beats the one below it (or the life's average).

    A top block whose checkpoint is not yet in the past (``v >= t``) survives.
    """
    k = counts[N_TAGS]
    if k == 0:
        return True
    v1 = tags[k - 1, 0]
    if t <= v1:
        return True
    v2 = 0.0
    R2 = 0.0
    if k >= 2:
        v2 = tags[k - 2, 0]
        R2 = tags[k - 2, 1]
    return (R - tags[k - 1, 1]) / (t - v1) > (R - R2) / (t - v2)


@njit(cache=True, **NO_REFCOUNT)
def ssa_pop_block(
    tags: np.ndarray, entries: np.ndarray, counts: np.ndarray, policy: np.ndarray
) -> int:
    """Pop the top block: restore its saved rows newest first; return how many were restored."""
    k = counts[N_TAGS]
    first = int(tags[k - 1, 2])
    width = policy.shape[1]
    e = counts[N_ENTRIES] - 1
    restored = 0
    while e >= first:
        addr = int(entries[e, 0])
        for j in range(width):
            policy[addr, j] = entries[e, 1 + j]
        restored += 1
        e -= 1
    counts[N_ENTRIES] = first
    counts[N_TAGS] = k - 1
    counts[BLOCKS_POPPED] += 1
    counts[ROWS_RESTORED] += restored
    return restored


@njit(cache=True, **NO_REFCOUNT)
def ssa_call(
    tags: np.ndarray,
    entries: np.ndarray,
    counts: np.ndarray,
    policy: np.ndarray,
    t: float,
    R: float,
    top_only: bool = False,
) -> int:
    """One SSA call at time ``t`` with cumulative reward ``R``: pop until the SSC holds.

    ``top_only`` selects ML97's literal rule instead (pop while the top pair fails; the chain
    below is not re-checked). Returns the number of rows restored (the papers charge one time
    step per restored row).
    """
    counts[CALLS] += 1
    restored = 0
    if top_only:
        while counts[N_TAGS] > 0 and not ssa_top_survives(tags, counts, t, R):
            restored += ssa_pop_block(tags, entries, counts, policy)
        return restored
    keep = ssa_survivors(tags, counts, t, R)
    while counts[N_TAGS] > keep:
        restored += ssa_pop_block(tags, entries, counts, policy)
    return restored


@njit(cache=True, **NO_REFCOUNT)
def ssa_begin_block(tags: np.ndarray, counts: np.ndarray, t: float, R: float) -> bool:
    """Push the tag ``(t, R(t))`` that opens a new block; False if ``tags`` is full."""
    k = counts[N_TAGS]
    if k >= tags.shape[0]:
        return False
    tags[k, 0] = t
    tags[k, 1] = R
    tags[k, 2] = counts[N_ENTRIES]
    tags[k, 3] = counts[SERIAL]
    counts[SERIAL] += 1
    counts[N_TAGS] = k + 1
    counts[BLOCKS_PUSHED] += 1
    return True


@njit(cache=True, **NO_REFCOUNT)
def ssa_save(
    tags: np.ndarray,
    entries: np.ndarray,
    mark: np.ndarray,
    counts: np.ndarray,
    policy: np.ndarray,
    addr: int,
) -> int:
    """Save row ``addr`` of ``policy`` into the open block before the learner changes it.

    Returns 1 if the row was pushed, 0 if the block already holds it, -1 if ``entries`` is full.
    A block must be open (``counts[N_TAGS] > 0``).
    """
    serial = int(tags[counts[N_TAGS] - 1, 3])
    if mark[addr] == serial:
        return 0
    e = counts[N_ENTRIES]
    if e >= entries.shape[0]:
        return -1
    entries[e, 0] = addr
    width = policy.shape[1]
    for j in range(width):
        entries[e, 1 + j] = policy[addr, j]
    counts[N_ENTRIES] = e + 1
    mark[addr] = serial
    return 1


@njit(cache=True, **NO_REFCOUNT)
def ssa_free(tags: np.ndarray, entries: np.ndarray, counts: np.ndarray, rows: int) -> bool:
    """True if there is room for one more tag and ``rows`` more saved rows."""
    return counts[N_TAGS] < tags.shape[0] and counts[N_ENTRIES] + rows <= entries.shape[0]


def ssc_holds(tags: np.ndarray, t: float, R: float) -> bool:
    """The full success-story criterion over ``tags`` (rows ``(v, R(v), ...)``) at ``(t, R)``.

    Checks ``R(t)/t < speed(v_1) < ... < speed(v_k)`` directly (a test oracle; SSA itself only
    ever compares neighbours).
    """
    speeds = [R / t] + [(R - float(r)) / (t - float(v)) for v, r in np.asarray(tags)[:, :2]]
    return all(a < b for a, b in itertools.pairwise(speeds))


class SuccessStory:
    """SSA over a learner whose policy is a 2-D float array (one row per component).

    ``n_components`` rows of ``width`` values each. The learner calls :meth:`save` before changing
    a row, :meth:`begin_block` when it starts a new sequence of modifications (done for it by
    :meth:`save` when no block is open since the last call), and :meth:`call` at each evaluation.
    The arrays ``tags, entries, mark, counts`` may also be handed to the ``ssa_*`` njit functions
    directly; :meth:`grow` enlarges them.
    """

    def __init__(
        self,
        n_components: int,
        width: int,
        tag_capacity: int = 64,
        entry_capacity: int = 256,
    ) -> None:
        if n_components < 1 or width < 1:
            raise ValueError("n_components and width must be >= 1")
        self.n_components = int(n_components)
        self.width = int(width)
        self.tags = np.zeros((max(1, tag_capacity), 4), dtype=np.float64)
        self.entries = np.zeros((max(1, entry_capacity), 1 + self.width), dtype=np.float64)
        self.mark = np.full(self.n_components, -1, dtype=np.int64)
        self.counts = np.zeros(N_COUNTS, dtype=np.int64)
        self.block_open = False

    # ------------------------------------------------------------------ views
    @property
    def n_tags(self) -> int:
        return int(self.counts[N_TAGS])

    @property
    def n_entries(self) -> int:
        return int(self.counts[N_ENTRIES])

    @property
    def stack_size(self) -> int:
        """Entries on the stack: tags plus saved rows (the papers' "stack size")."""
        return self.n_tags + self.n_entries

    def tag_list(self) -> np.ndarray:
        """The tags ``(v, R(v))`` on the stack, oldest first."""
        return self.tags[: self.n_tags, :2].copy()

    def stats(self) -> dict[str, int]:
        c = self.counts
        return {
            "stack_tags": int(c[N_TAGS]),
            "stack_entries": int(c[N_ENTRIES]),
            "blocks_pushed": int(c[BLOCKS_PUSHED]),
            "blocks_popped": int(c[BLOCKS_POPPED]),
            "rows_restored": int(c[ROWS_RESTORED]),
            "ssa_calls": int(c[CALLS]),
        }

    # ------------------------------------------------------------------ operations
    def grow(self, tags: int = 0, rows: int = 0) -> None:
        """Make room for ``tags`` more tags and ``rows`` more saved rows."""
        need_t = self.n_tags + tags
        if need_t > self.tags.shape[0]:
            new = np.zeros((max(need_t, 2 * self.tags.shape[0]), 4), dtype=np.float64)
            new[: self.n_tags] = self.tags[: self.n_tags]
            self.tags = new
        need_e = self.n_entries + rows
        if need_e > self.entries.shape[0]:
            new = np.zeros((max(need_e, 2 * self.entries.shape[0]), 1 + self.width))
            new[: self.n_entries] = self.entries[: self.n_entries]
            self.entries = new

    def begin_block(self, t: float, R: float) -> None:
        """Open a new block with the tag ``(t, R(t))``."""
        if self.n_tags and t < self.tags[self.n_tags - 1, 0]:
            raise ValueError(f"time must not run backwards: {t} < {self.tags[self.n_tags - 1, 0]}")
        self.grow(tags=1)
        ssa_begin_block(self.tags, self.counts, float(t), float(R))
        self.block_open = True

    def save(self, policy: np.ndarray, addr: int, t: float, R: float) -> bool:
        """Record row ``addr`` of ``policy`` before the learner changes it (at ``(t, R)``).

        Opens a block first if none is open since the last SSA call. Returns True if the row was
        pushed (False: this block already holds it).
        """
        self._check_policy(policy)
        if not 0 <= addr < self.n_components:
            raise ValueError(f"address {addr} out of range 0..{self.n_components - 1}")
        if not self.block_open:
            self.begin_block(t, R)
        self.grow(rows=1)
        return bool(ssa_save(self.tags, self.entries, self.mark, self.counts, policy, int(addr)))

    def call(self, policy: np.ndarray, t: float, R: float) -> int:
        """An SSA call (evaluation) at ``(t, R(t))``; returns the number of rows restored.

        Closes the open block: the next :meth:`save` opens a new one.
        """
        self._check_policy(policy)
        if self.n_tags and t <= self.tags[self.n_tags - 1, 0]:
            raise ValueError("an SSA call must come after the newest checkpoint (t > v_k)")
        if t <= 0:
            raise ValueError("an SSA call needs t > 0")
        self.block_open = False
        return int(ssa_call(self.tags, self.entries, self.counts, policy, float(t), float(R)))

    def criterion_holds(self, t: float, R: float) -> bool:
        return ssc_holds(self.tag_list(), t, R)

    def _check_policy(self, policy: np.ndarray) -> None:
        if policy.ndim != 2 or policy.shape != (self.n_components, self.width):
            raise ValueError(
                f"policy must have shape ({self.n_components}, {self.width}), got {policy.shape}"
            )

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {
            "tags": self.tags[: self.n_tags].copy(),
            "entries": self.entries[: self.n_entries].copy(),
            "mark": self.mark.copy(),
            "counts": self.counts.copy(),
            "block_open": self.block_open,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        counts = np.asarray(state["counts"], dtype=np.int64)
        self.counts = counts.copy()
        self.tags = np.zeros((max(64, self.n_tags * 2), 4))
        self.tags[: self.n_tags] = np.asarray(state["tags"]).reshape(-1, 4)
        self.entries = np.zeros((max(256, self.n_entries * 2), 1 + self.width))
        self.entries[: self.n_entries] = np.asarray(state["entries"]).reshape(-1, 1 + self.width)
        self.mark = np.asarray(state["mark"], dtype=np.int64).copy()
        self.block_open = bool(state["block_open"])
