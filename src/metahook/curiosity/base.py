"""The interface every intrinsic reward of :mod:`metahook.curiosity` follows.

An intrinsic reward turns one experience of an agent -- in state ``s`` it did ``a`` and saw
``s_next`` -- into a number, judged by the agent's world model. The agent's loop is always::

    model.update(s, a, s_next)              # the world model learns from the experience
    r = reward.reward(model, s, a, s_next)  # how much that was worth to the curious agent

so ``reward`` sees the model *after* it learned, and reads whatever it needs of the model before
(a tabular model undoes its last count, :meth:`~.model.TransitionCounts.before`; a neural model
such as ICM's forward model or RND's predictor records its error on the experience before its
gradient step). A reward may keep state of its own (learning progress keeps a running error per
experiment); then ``state_dict`` / ``load_state_dict`` checkpoint it, and a stateless reward
returns ``{}``.

``s``, ``a`` and ``s_next`` are whatever the model takes: integers for the tabular models here,
arrays or tensors for the neural ones to come (ICM, RND), which keep the same four methods.
"""

from __future__ import annotations

from typing import Any, Protocol


class IntrinsicReward(Protocol):
    """See the module docstring."""

    name: str

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> float: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, st: dict[str, Any]) -> None: ...


class Stateless:
    """Mixin for rewards without state of their own: empty checkpoints."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        return None
