"""The SSA stack: preallocated arrays, and the numba kernels that learners' hot loops write to.

Schmidhuber, Zhao & Wiering, "Shifting inductive bias with success-story algorithm, adaptive
Levin search, and incremental self-improvement", Machine Learning 28:105-130 (1997) (ML97),
section 2; Schmidhuber, Zhao & Schraudolph, "Reinforcement learning with self-modifying
policies", in Learning to Learn (Thrun & Pratt, eds.), Kluwer 1997 (LTL97).

The success-story algorithm (SSA, :mod:`metahook.rsi.ssa`) keeps a stack ``S`` of *blocks*. A
block starts with a *tag* ``(v, R(v))`` (checkpoint time and cumulative reward) and holds the old
values of every policy row ``Pol_i`` first modified after ``v``. An *SSA call* at time ``t`` pops
blocks -- restoring their rows bit for bit, newest first -- until the success-story criterion
holds (:func:`ssa_call`; the criterion and its deviations are documented in
:mod:`metahook.rsi.ssa` and docs/ssa.md).

The kernels live here, below the machines, because a self-modifying machine writes to the stack
from inside its own instruction loop (the SMP machine saves a row before each learning
instruction changes it, and calls SSA when an evaluation is due).

Storage: four numpy arrays, handed to the ``ssa_*`` functions (``@njit``) by compiled loops and
owned by an :class:`SSAStack` in Python:

- ``tags[k] = (v, R(v), first_entry, serial)`` for ``k < n_tags`` (``TAG_WIDTH`` columns);
- ``entries[e] = (address, old row ...)`` for ``e < n_entries``;
- ``mark[address] = serial`` of the block that has already saved that row (saved once per block);
- ``counts`` = ``[n_tags, n_entries, next_serial, blocks_popped, rows_restored, calls,
  blocks_pushed]`` (``N_COUNTS`` of them; indices below).

Tags are pushed by :func:`ssa_begin_block` when a block's first modification is about to happen
(see docs/ssa.md, Deviations: ML97 pushes the tag at the end of the preceding SSA call; we push it
with the first modification that follows, which never leaves an empty block).

Glossary (paper symbols): ``t`` the learner's own time; ``R`` (``R(t)``) its cumulative reward;
``v`` a block's checkpoint; ``Pol_i`` policy component ``i`` (a row of ``policy``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT

# indices into ``counts``
N_TAGS, N_ENTRIES, SERIAL, BLOCKS_POPPED, ROWS_RESTORED, CALLS, BLOCKS_PUSHED = range(7)
N_COUNTS = 7
TAG_WIDTH = 4  # columns of ``tags``: v, R(v), first entry, serial

# Initial room of a stack (it grows by doubling when full, so the capacities change no result):
TAG_CAPACITY = 64  # tags of a fresh SSAStack / SuccessStory
ENTRY_CAPACITY = 256  # saved rows of a fresh SSAStack / SuccessStory
AGENT_TAG_CAPACITY = 256  # tags of an agent's stack in the compiled life loops (SMP, Q(λ))
AGENT_ENTRY_CAPACITY = 4096  # saved rows of an agent's stack in the compiled life loops


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
def ssa_call(tags: np.ndarray, entries: np.ndarray, counts: np.ndarray, policy: np.ndarray,
             t: float, R: float, top_only: bool = False) -> int:
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
def ssa_save(tags: np.ndarray, entries: np.ndarray, mark: np.ndarray, counts: np.ndarray,
             policy: np.ndarray, addr: int) -> int:
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


def agent_stacks_state(tags: np.ndarray, entries: np.ndarray, mark: np.ndarray,
                       counts: np.ndarray) -> dict[str, Any]:
    """Checkpoint data of one SSA stack per agent (arrays ``(agents, capacity, ...)``), trimmed
    to the rows the fullest stack uses."""
    n_t = int(counts[:, N_TAGS].max(initial=0))
    n_e = int(counts[:, N_ENTRIES].max(initial=0))
    return {"tags": tags[:, :n_t], "entries": entries[:, :n_e], "mark": mark, "counts": counts}


def restore_agent_stacks(state: dict[str, Any], width: int
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(tags, entries, mark, counts)`` from :func:`agent_stacks_state`'s data, with room to
    grow (``width``: columns of a saved row)."""
    tags = np.asarray(state["tags"], dtype=np.float64)
    saved = np.asarray(state["entries"], dtype=np.float64)
    k = tags.shape[0]
    out_tags = np.zeros((k, max(AGENT_TAG_CAPACITY, 2 * tags.shape[1]), TAG_WIDTH))
    out_tags[:, : tags.shape[1]] = tags
    out_entries = np.zeros((k, max(AGENT_ENTRY_CAPACITY, 2 * saved.shape[1]), width))
    out_entries[:, : saved.shape[1]] = saved.reshape(k, saved.shape[1], width)
    return (out_tags, out_entries, np.array(state["mark"], dtype=np.int64),
            np.array(state["counts"], dtype=np.int64))


class SSAStack:
    """The arrays ``tags, entries, mark, counts`` of one learner's SSA stack, and their growth.

    ``n_components`` policy rows of ``width`` values each. Compiled loops hand the arrays to the
    ``ssa_*`` kernels; when a kernel reports the stack full, :meth:`grow` enlarges it (contents
    kept). ``block_open`` is :class:`metahook.rsi.ssa.SuccessStory`'s flag (a block opened since
    the last SSA call); machines keep their own in their registers. The learner-facing API (save,
    begin a block, call SSA, check the criterion) is :class:`metahook.rsi.ssa.SuccessStory`.
    """

    def __init__(
        self,
        n_components: int,
        width: int,
        tag_capacity: int = TAG_CAPACITY,
        entry_capacity: int = ENTRY_CAPACITY,
    ) -> None:
        if n_components < 1 or width < 1:
            raise ValueError("n_components and width must be >= 1")
        self.n_components = int(n_components)
        self.width = int(width)
        self.tags = np.zeros((max(1, tag_capacity), TAG_WIDTH), dtype=np.float64)
        self.entries = np.zeros((max(1, entry_capacity), 1 + self.width), dtype=np.float64)
        self.mark = np.full(self.n_components, -1, dtype=np.int64)
        self.counts = np.zeros(N_COUNTS, dtype=np.int64)
        self.block_open = False

    # ------------------------------------------------------------------ views
    @property
    def n_tags(self) -> int:
        """Tags (blocks) on the stack."""
        return int(self.counts[N_TAGS])

    @property
    def n_entries(self) -> int:
        """Saved rows on the stack."""
        return int(self.counts[N_ENTRIES])

    @property
    def stack_size(self) -> int:
        """Entries on the stack: tags plus saved rows (the papers' "stack size")."""
        return self.n_tags + self.n_entries

    def tag_list(self) -> np.ndarray:
        """The tags ``(v, R(v))`` on the stack, oldest first."""
        return self.tags[: self.n_tags, :2].copy()

    def stats(self) -> dict[str, int]:
        """The stack's size and its lifetime counters."""
        c = self.counts
        return {
            "stack_tags": int(c[N_TAGS]),
            "stack_entries": int(c[N_ENTRIES]),
            "blocks_pushed": int(c[BLOCKS_PUSHED]),
            "blocks_popped": int(c[BLOCKS_POPPED]),
            "rows_restored": int(c[ROWS_RESTORED]),
            "ssa_calls": int(c[CALLS]),
        }

    # ------------------------------------------------------------------ growth
    def grow(self, tags: int = 0, rows: int = 0) -> None:
        """Make room for ``tags`` more tags and ``rows`` more saved rows."""
        need_t = self.n_tags + tags
        if need_t > self.tags.shape[0]:
            new = np.zeros((max(need_t, 2 * self.tags.shape[0]), TAG_WIDTH), dtype=np.float64)
            new[: self.n_tags] = self.tags[: self.n_tags]
            self.tags = new
        need_e = self.n_entries + rows
        if need_e > self.entries.shape[0]:
            new = np.zeros((max(need_e, 2 * self.entries.shape[0]), 1 + self.width))
            new[: self.n_entries] = self.entries[: self.n_entries]
            self.entries = new

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The stack's contents as checkpoint data (arrays trimmed to what is in use)."""
        return {
            "tags": self.tags[: self.n_tags].copy(),
            "entries": self.entries[: self.n_entries].copy(),
            "mark": self.mark.copy(),
            "counts": self.counts.copy(),
            "block_open": self.block_open,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (with room to grow)."""
        counts = np.asarray(state["counts"], dtype=np.int64)
        self.counts = counts.copy()
        self.tags = np.zeros((max(TAG_CAPACITY, self.n_tags * 2), TAG_WIDTH))
        self.tags[: self.n_tags] = np.asarray(state["tags"]).reshape(-1, TAG_WIDTH)
        self.entries = np.zeros((max(ENTRY_CAPACITY, self.n_entries * 2), 1 + self.width))
        self.entries[: self.n_entries] = np.asarray(state["entries"]).reshape(-1, 1 + self.width)
        self.mark = np.asarray(state["mark"], dtype=np.int64).copy()
        self.block_open = bool(state["block_open"])
