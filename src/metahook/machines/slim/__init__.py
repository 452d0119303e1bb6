"""Self-delimiting (SLIM) recurrent neural networks as a program machine.

J. Schmidhuber, "Self-delimiting neural networks", IDSIA-08-12, arXiv 1210.0118 (2012) (SLIM);
used as PowerPlay's solver in R. K. Srivastava, B. R. Steunebrink, J. Schmidhuber, "First
experiments with PowerPlay", Neural Networks 41:130-136 (2013), arXiv 1210.8385, and its ICDL 2012
conference version (Srivastava, Steunebrink, Stollenga, Schmidhuber).

In a SLIM net, activation spreads from the input units until a special halt unit becomes active;
only the connections that activation actually travels along are part of the episode's program, so
a run's cost and its dependence on the weights are limited to what it used. PowerPlay exploits
this: each task remembers the connections it used, and after a weight change only the tasks that
could be touched by it are re-tested.

The machine, in a few lines (``W[j, i]`` is the weight of connection ``j -> i``; 0 = absent):

1. Units are input units (group ``-1``) or belong to a winner-take-all (WTA) group (``>= 0``).
   One non-input unit is the halt unit. Non-input units are binary (0 or 1); input units carry
   the real value they read. A unit is *active* when its activation is non-zero.
2. At time 0 all non-input units are 0 and the inputs read the pattern (or the retina); clamped
   input units (``SlimNet.clamped``, a task's command) take the run's command values and keep
   them for the whole run.
3. One step: every active unit ``j`` sends ``act[j] * W[j, i]`` along each of its non-zero
   connections to a non-input unit ``i``; each such connection counts as *used*, and ``i`` is
   *reached*. In each group, the reached unit with the largest net input wins if that input
   exceeds its threshold ``theta[i]`` (ties: lowest index); winners become 1, every other
   non-input unit 0. Motor units (fovea variant) then move the fovea and the inputs read again.
4. The run halts at the end of the first step in which the halt unit is active; otherwise it
   stops after ``max_steps`` steps (not halted). The result is ``halted``, ``steps``, the final
   activations, the used connections (``(n, n)`` bool) and ``considered`` (units active in some
   step before the end, i.e. those whose outgoing connections were read).

Consequence (tested): changing the weight of any connection whose source was not considered, or
whose target is an input unit, cannot change the run. For a non-zero weight this means "unused
connections don't matter"; for a zero weight (a connection a search may create) the criterion is
the source, not the (empty) used set. :meth:`SlimNet.affected_tasks` applies it.

Glossary: ``W`` weights (source row, target column), ``group`` WTA group ids, ``theta``
thresholds, ``inputs`` input units (pattern / retina order), ``halt`` the halt unit, ``used`` used
connections, ``considered`` units whose outgoing connections were read, ``retina = (ry, rx)``,
``fovea`` the retina's top-left pixel ``(y, x)``.

Entry points: :func:`run`, :func:`run_batch` (many patterns, one compiled loop),
:func:`run_fovea`, :func:`run_fovea_batch`; :mod:`.kernel` is the numba fast path,
:mod:`.reference` the slow pure-Python reference it is tested against.

Decisions where the paper is unclear
------------------------------------
The method sections of the papers could not be read here (only abstracts and introductions); the
points below are our choices, recorded for docs/powerplay.md's Deviations table
(paper / ours / why).

- WTA rule. Paper: neurons in WTA groups, threshold activations, no exact rule available.
  Ours: among the units of a group reached this step, the largest net input wins if it exceeds
  the unit's threshold; ties go to the lowest unit index; at most one winner per group. Why:
  deterministic, so runs are reproducible and validation is exact.
- Who may fire. Paper: activation spreads from the inputs; unused neurons are never considered.
  Ours: a unit can win only if at least one non-zero connection from an active unit reached it
  in that step (a bare negative threshold does not make a unit fire on its own). Why: keeps the
  work of a step proportional to the outgoing connections of active units, and makes "what a run
  depends on" exactly its considered units.
- Memory. Paper: not found. Ours: no persistence; a unit stays active only if it wins again
  (e.g. through a self-connection). Why: the simplest recurrent dynamics; memory is then part of
  the program (used connections).
- Inputs. Paper: inputs come from the environment and may change during an episode. Ours: a
  pattern is clamped on the inputs in every step; in the fovea variant the inputs read the retina
  anew after every step. Inputs may be real (grey values); zero means inactive. Connections into
  input units are ignored. Why: a static pattern stays visible, as a seen image would.
- Halting and output. Paper: the episode ends when the halt neuron becomes active; a time limit
  bounds it. Ours: the run ends at the end of the first step in which the halt unit is active
  (step 0 cannot halt), or after ``max_steps`` steps (``halted = False``); the output is the
  state at that moment (e.g. the winners of the output groups, :meth:`SlimNet.winners`). Why:
  matches "activate the halt neuron"; the caller chooses which groups are outputs.
- Used connection. Paper: connections used during the episode form the program. Ours: source
  active in a step before the end and weight non-zero, target a non-input unit. Why: exactly the
  connections whose weights entered a net input.
- Fovea. Paper: a fovea moving over a static image; sizes not found. Ours: a ``ry x rx`` retina
  (row-major onto the input units), motor units each with a ``(dy, dx)`` move, the moves of all
  active motor units add up, the window is clamped to the image, the halting step's moves still
  apply. Why: general enough for the paper's setup once its sizes are known
  (:meth:`Fovea.compass` gives four one-pixel moves).
"""

from __future__ import annotations

from metahook.machines.slim.machine import (
    Batch,
    Fovea,
    Run,
    SlimNet,
    run,
    run_batch,
    run_fovea,
    run_fovea_batch,
)

__all__ = ["Batch", "Fovea", "Run", "SlimNet", "run", "run_batch", "run_fovea", "run_fovea_batch"]
