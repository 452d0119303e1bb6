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
satisfies the SSC (:func:`metahook.core.ssa_stack.ssa_survivors`); when only the top pair
fails, this is ML97's rule. See docs/ssa.md, Deviations.

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

Storage. The stack's arrays and the numba kernels that compiled learners call from inside their
hot loops (``ssa_begin_block``, ``ssa_save``, ``ssa_call``, ``ssa_free``; ``ssa_call`` pops until
the SSC above holds) live in :mod:`metahook.core.ssa_stack`, below the machines that write to
them; this module holds the algorithm's Python API, :class:`SuccessStory`, and the criterion
stated directly as a test oracle, :func:`ssc_holds`.
"""

from __future__ import annotations

import itertools

import numpy as np

from metahook.core.ssa_stack import SSAStack, ssa_begin_block, ssa_call, ssa_save


def ssc_holds(tags: np.ndarray, t: float, R: float) -> bool:
    """The full success-story criterion over ``tags`` (rows ``(v, R(v), ...)``) at ``(t, R)``.

    Checks ``R(t)/t < speed(v_1) < ... < speed(v_k)`` directly (a test oracle; SSA itself only
    ever compares neighbours).
    """
    speeds = [R / t] + [(R - float(r)) / (t - float(v)) for v, r in np.asarray(tags)[:, :2]]
    return all(a < b for a, b in itertools.pairwise(speeds))


class SuccessStory(SSAStack):
    """SSA over a learner whose policy is a 2-D float array (one row per component).

    ``n_components`` rows of ``width`` values each. The learner calls :meth:`save` before changing
    a row, :meth:`begin_block` when it starts a new sequence of modifications (done for it by
    :meth:`save` when no block is open since the last call), and :meth:`call` at each evaluation.
    The stack's arrays, views, growth and checkpoint data are :class:`SSAStack`'s (in
    :mod:`metahook.core.ssa_stack`); the arrays ``tags, entries, mark, counts`` may also be handed
    to the ``ssa_*`` njit kernels there directly.
    """

    # ------------------------------------------------------------------ operations
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
        """Whether the success-story criterion holds over the stack's tags at ``(t, R(t))``."""
        return ssc_holds(self.tag_list(), t, R)

    def _check_policy(self, policy: np.ndarray) -> None:
        if policy.ndim != 2 or policy.shape != (self.n_components, self.width):
            raise ValueError(
                f"policy must have shape ({self.n_components}, {self.width}), got {policy.shape}"
            )
