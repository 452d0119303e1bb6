"""The bottom layer: what several layers share and no layer above may be needed to understand.

- :mod:`.jit`: numba compilation flags of the hot loops (``NO_REFCOUNT``);
- :mod:`.ssa_stack`: the SSA stack (Schmidhuber, Zhao & Wiering, Machine Learning 28, 1997,
  section 2) as preallocated arrays, the numba kernels that a machine's hot loop writes to
  (``ssa_begin_block``, ``ssa_save``, ``ssa_call``, ``ssa_free``), its named capacities, and
  :class:`~.ssa_stack.SSAStack`, the arrays' owner; the success-story algorithm's Python API
  (:class:`metahook.rsi.ssa.SuccessStory`) and its criterion as a test oracle stay in
  :mod:`metahook.rsi.ssa`;
- :mod:`.seeding`: :func:`~.seeding.rng_for` (named random streams from ``SeedSequence``, for new
  code) and :func:`~.seeding.restore_generator` (a generator's state read back from a
  checkpoint).

Layers (bottom up; a module imports only from its own layer or the ones below, see
``tests/test_layers.py``)::

    cli -> experiments -> rsi -> {search, rl, neural, evolution} -> {machines, envs} -> core
                 |
                 +-> harness (the surface experiments use; algorithms never import it)

Nothing here imports from the rest of :mod:`metahook`.
"""
