"""A protocol of whole lives, run one after another and checkpointed as they go.

The SSA papers measure a learner over one long life that is never reset (Schmidhuber, Zhao &
Wiering, ML 28, 1997; Schmidhuber, Zhao & Schraudolph, 1997): an experiment is a list of lives
(the runs with SSA, then the baselines), each with its own budget of time steps. The driver:

1. draw one seed per life once (kept in every checkpoint, so a resumed run never redraws);
2. for each life in turn: build it from its seed, advance it chunk by chunk (``step``) with a
   checkpoint after every chunk, then ``summarise`` it and checkpoint between lives;
3. on resume, rebuild the life that was running and load its saved state, so that the run ends
   exactly as an uninterrupted one.

The driver knows nothing of the harness: it is handed a :class:`Checkpointer` (the harness's
``RunContext`` is one) for the seeds' random stream and the checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np


class Checkpointer(Protocol):
    """What the driver needs of the run around it: a random stream for the lives' seeds, the last
    checkpoint (None on a fresh start), and a way to write one (``force``: now, not only when the
    checkpoint interval has passed)."""

    rng: np.random.Generator

    def restore(self) -> dict[str, Any] | None: ...

    def checkpoint(self, make_state: Callable[[], dict[str, Any]], force: bool = False) -> None: ...


class Life(Protocol):
    """What the driver needs of a life: its whole state as checkpoint data, and back."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, st: dict[str, Any]) -> None: ...


L = TypeVar("L", bound=Life)


def run_lives(ctx: Checkpointer, keys: Sequence[str], make: Callable[[int, int], L],
              step: Callable[[int, L], bool],
              summarise: Callable[[int, L], dict[str, Any]]) -> dict[str, Any]:
    """Run the lives named ``keys`` in order; return ``{key: summarise(index, life)}``.

    ``make(index, seed)`` builds life ``index``; ``step(index, life)`` advances it by one chunk
    (reporting progress) and returns True, or returns False once its budget is spent.
    """
    state = ctx.restore()
    seeds = (ctx.rng.integers(0, 2**63 - 1, size=len(keys)) if state is None
             else np.asarray(state["seeds"], dtype=np.int64))
    done: dict[str, Any] = {} if state is None else dict(state["done"])
    index = 0 if state is None else int(state["index"])
    life: L | None = None
    if state is not None and state.get("life") is not None:
        life = make(index, int(seeds[index]))
        life.load_state_dict(state["life"])
    while index < len(keys):
        if life is None:
            life = make(index, int(seeds[index]))
        while step(index, life):

            def snapshot(i: int = index, lf: L = life) -> dict[str, Any]:
                return {"index": i, "done": done, "life": lf.state_dict(), "seeds": seeds}

            ctx.checkpoint(snapshot)
        done[keys[index]] = summarise(index, life)
        index += 1
        life = None

        def between(i: int = index) -> dict[str, Any]:
            return {"index": i, "done": done, "life": None, "seeds": seeds}

        ctx.checkpoint(between, force=True)
    return done
