"""Reinforcement-learning agents and the one loop that runs them.

- :mod:`.q_lambda`: tabular Watkins Q(λ) kernels (numba), the base learner SSA can wrap
  (ML97 sections 3-4);
- :mod:`.agent`: the :class:`~.agent.Agent` protocol, :func:`~.agent.run_episode` (an agent in a
  Gymnasium environment) and :class:`~.agent.TabularQLambda`, the readable agent;
- :mod:`.pomaze_q`: the same agent fused with the partially observable maze in one compiled loop,
  for the millions of steps of the ls-maze baseline (tested step for step against the readable
  one).

Curiosity agents and world-model controllers belong here too.
"""
