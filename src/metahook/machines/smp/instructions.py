"""The SMP instruction table: the single source of truth for names, arities, kinds and costs.

Each instruction code ``j`` in ``0..n_ops-1`` names one instruction ``B_j`` with ``N_j`` integer
arguments in ``0..n_ops-1`` (ML97 section 4.1; LTL97 section 3). An :class:`InstructionSet` is an
ordered tuple of instruction names; an experiment picks the general instructions it uses and
appends its environment's own (``env`` kind, each with the environment's action number). The
machine reads the set as three arrays, ``kind``, ``arity`` and ``env_id``.

Time accounting (XIN section 2; ML97 section 4.1): one time step for every computation that has to
consider all ``n_ops`` probabilities of a cell -- sampling an instruction or an argument, changing
a distribution, pushing it onto the SSA stack or popping it back. Everything else is free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# instruction kinds (the machine dispatches on these)
ADD, SUB, MUL, MOV, JUMPHOME, JUMP, INCPROB, DECPROB, MOVEDIST, GETP, ENDSELFMOD, PREPEVAL, ENV = (
    range(13)
)


@dataclass(frozen=True)
class Spec:
    """One general instruction: its kind, arity and meaning (for docs and the disassembler)."""

    kind: int
    arity: int
    meaning: str


GENERAL: dict[str, Spec] = {
    "Add": Spec(ADD, 3, "c[a3] <- c[a1] + c[a2]"),
    "Sub": Spec(SUB, 3, "c[a3] <- c[a1] - c[a2]"),
    "Mul": Spec(MUL, 3, "c[a3] <- c[a1] * c[a2]"),
    "Mov": Spec(MOV, 2, "c[a2] <- c[a1]"),
    "JumpHome": Spec(JUMPHOME, 0, "IP <- 0"),
    "Jump": Spec(JUMP, 1, "IP <- first cell of instruction slot a1"),
    "IncProb": Spec(
        INCPROB, 3,
        "cell i = (a1*n_ops + a2) mod m, code j = a3: P[i,j] <- 1 - lam(1 - P[i,j]), "
        "P[i,k] <- lam P[i,k] (k != j); refused if any P[i,k] would fall below MinP",
    ),
    "DecProb": Spec(
        DECPROB, 3,
        "cell i = (a1*n_ops + a2) mod m, code j = a3: P[i,j] <- lam P[i,j], the others scaled up "
        "to sum 1; refused if P[i,j] would fall below MinP",
    ),
    "MoveDist": Spec(
        MOVEDIST, 2, "copy the distributions of instruction slot a1 onto those of slot a2",
    ),
    "GetP": Spec(
        GETP, 3, "c[a3] <- P[int(c[a1]) mod m, int(c[a2]) mod n_ops] (reads its own policy)",
    ),
    "EndSelfMod": Spec(
        ENDSELFMOD, 0,
        "end the self-modification sequence (SMS); it is evaluated after eval_delay reward "
        "events; learning instructions are disabled until then",
    ),
    "PrepEval": Spec(
        PREPEVAL, 1,
        "end the SMS like EndSelfMod, but evaluate it after 1 + a1*prepeval_unit reward events",
    ),
}

LEARNING_KINDS = (INCPROB, DECPROB, MOVEDIST)


@dataclass(frozen=True)
class EnvInstruction:
    """An environment's own instruction: its name, arity and the environment's action number."""

    name: str
    arity: int
    action: int


@dataclass(frozen=True)
class InstructionSet:
    """An ordered set of instructions; code ``j`` is the ``j``-th entry."""

    general: tuple[str, ...]
    env: tuple[EnvInstruction, ...] = ()

    def __post_init__(self) -> None:
        unknown = [g for g in self.general if g not in GENERAL]
        if unknown:
            raise ValueError(f"unknown SMP instructions {unknown}; valid: {sorted(GENERAL)}")
        names = self.names
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate instruction names in {names}")
        if any(e.arity < 0 or e.arity > 3 for e in self.env):
            raise ValueError("environment instructions take 0..3 arguments")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.general) + tuple(e.name for e in self.env)

    @property
    def n_ops(self) -> int:
        return len(self.general) + len(self.env)

    @property
    def width(self) -> int:
        """Cells per instruction slot: the instruction cell and room for the largest arity."""
        return 1 + int(self.arity.max())

    @property
    def kind(self) -> np.ndarray:
        return np.array([GENERAL[g].kind for g in self.general] + [ENV] * len(self.env),
                        dtype=np.int64)

    @property
    def arity(self) -> np.ndarray:
        return np.array([GENERAL[g].arity for g in self.general] + [e.arity for e in self.env],
                        dtype=np.int64)

    @property
    def env_id(self) -> np.ndarray:
        return np.array([-1] * len(self.general) + [e.action for e in self.env], dtype=np.int64)

    def code(self, name: str) -> int:
        return self.names.index(name)

    def disassemble(self, codes: list[int] | np.ndarray) -> str:
        """Render a code sequence as instructions (used to show a policy's most likely program)."""
        out = []
        i = 0
        ar = self.arity
        names = self.names
        w = self.width
        while i + w <= len(codes):
            op = int(codes[i])
            args = ",".join(str(int(a)) for a in codes[i + 1 : i + 1 + ar[op]])
            out.append(f"{i // w:3d}: {names[op]}({args})")
            i += w
        return "\n".join(out)
