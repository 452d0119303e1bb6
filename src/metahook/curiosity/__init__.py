"""Artificial curiosity: intrinsic rewards as one family, each pluggable into the same agents.

Every reward is a small module citing its paper, with the interface of :mod:`.base`
(``reward(model, s, a, s_next)``, called after the world model learned from the experience):

- :mod:`.info_gain`: information gain -- KL(after || before) of the estimated next-state
  distribution, its entropy-change variant and the probability change (Storck, Hochreiter &
  Schmidhuber, RDIA, ICANN'95);
- :mod:`.prediction_error`: the model's error (Schmidhuber 1990/1991), drawn to noise;
- :mod:`.learning_progress`: the decrease of the model's expected error (IJCNN 1991), bored by
  noise.
- :mod:`.model_building`: the IJCNN 1991 system itself -- world model, confidence module and
  Q-learning controller as delta-rule networks with local inputs, rewarded by the confidence's
  improvement (the experiment ``curiosity-1991``).

:mod:`.model` is the tabular world model (transition counts, ML estimates) and the paper's
summed distance; :mod:`.agent` the readable curious agent (Q-learning on the intrinsic reward)
and :mod:`.tabular` the same agent fused with a tabular environment in one compiled loop.
The neural members (PyTorch, the same interface over batches of tensors): :mod:`.neural` (a
world model predicting the next observation's bits, with prediction error, learning progress by a
confidence module, and information gain on it), :mod:`.compression_progress` (Schmidhuber
2008/2010), :mod:`.icm` (Pathak et al. 2017) and :mod:`.rnd` (Burda et al. 2019).
:mod:`.two_brains` is "Exploring the predictable" (Schmidhuber 1997/2002): two modules whose
product picks each instruction bet on self-invented experiments for zero-sum surprise rewards,
each with its own SSA stack (:mod:`.two_brains_reference`: its pure-Python reference).

Layer: like :mod:`metahook.rl`, this package may import ``core``, ``machines``, ``envs`` and ``rl``.
"""
