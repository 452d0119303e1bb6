"""What the neural experiments share: seeded construction, checkpointable optimizer state, device
choice, and :class:`Training`, one network trained step by step as a checkpointable job.
Nothing here reads or changes global random state outside a ``torch.random.fork_rng`` block.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module)


def seeded(factory: Callable[[], M], seed: int) -> M:
    """Build a module with its default initialisation drawn from ``seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory()


def pick_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when present, else CPU; ``"cpu"`` / ``"cuda"`` as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; valid: auto, cpu, cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA device is available")
    return torch.device(name)


def set_threads(n: int) -> None:
    """Use ``n`` intra-op threads (``0`` keeps torch's default).

    The neural experiments run small batches whose matrices are far too small to gain from
    several threads; on a shared machine, idle-spinning worker threads cost more than they give.
    """
    if n > 0:
        torch.set_num_threads(n)


def check_device(name: str) -> None:
    """For a config's ``validate``: ValueError unless ``name`` is usable here."""
    pick_device(name)


@dataclass(frozen=True)
class Placement:
    """Where a neural experiment runs; its config extends this.

    ``device``: ``auto`` (CUDA when present), ``cpu`` or ``cuda``; ``threads``: torch intra-op
    threads (0: torch's default; 1 by default, see :func:`set_threads`).
    """

    device: str = "auto"
    threads: int = 1

    def validate(self) -> None:
        check_device(self.device)
        if self.threads < 0:
            raise ValueError("threads must be >= 0 (0: torch's default)")

    def place(self) -> torch.device:
        """Set the thread count and return the device to run on."""
        set_threads(self.threads)
        return pick_device(self.device)


def optimizer_state(opt: torch.optim.Optimizer) -> dict[str, Any]:
    """``opt.state_dict()`` with string keys, so the harness can checkpoint it."""
    sd = opt.state_dict()
    return {"state": {str(k): v for k, v in sd["state"].items()},
            "param_groups": sd["param_groups"]}


def load_optimizer_state(opt: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    groups = [dict(g) for g in saved["param_groups"]]
    for g in groups:
        g["params"] = [int(p) for p in g["params"]]
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    opt.load_state_dict({"state": {int(k): v for k, v in saved["state"].items()},
                         "param_groups": groups})


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class Training:
    """One network trained step by step, as a job of :func:`metahook.core.sweep.run_jobs`.

    It owns the model, its optimiser and learning-rate schedule (if any), the optimiser steps
    taken (``step``), the learning curve (rows of ``[step, value, ...]``), the wall time spent
    (carried over a resume) and the experiment's own bookkeeping (``extra``: best validation
    error, its parameters, patience counts). :meth:`state_dict` holds all of it, so a training
    interrupted and resumed ends exactly as an uninterrupted one (given the same batches).
    """

    def __init__(self, model: nn.Module, opt: torch.optim.Optimizer, sched: Any = None,
                 **extra: Any) -> None:
        self.model, self.opt, self.sched = model, opt, sched
        self.step = 0
        self.curve: list[list[float]] = []
        self.extra: dict[str, Any] = dict(extra)
        self._t0 = time.perf_counter()

    @property
    def wall_s(self) -> float:
        """Wall-clock seconds spent on this training, across resumes."""
        return time.perf_counter() - self._t0

    def update(self, loss: torch.Tensor, grad_clip: float | None = None) -> None:
        """One optimiser step on ``loss`` (gradient norm clipped to ``grad_clip`` if given)."""
        self.opt.zero_grad()
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), grad_clip)
        self.opt.step()
        if self.sched is not None:
            self.sched.step()
        self.step += 1

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": optimizer_state(self.opt),
                "sched": {} if self.sched is None else self.sched.state_dict(),
                "step": self.step, "curve": self.curve, "wall": self.wall_s, "extra": self.extra}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.model.load_state_dict(st["model"])
        load_optimizer_state(self.opt, st["opt"])
        if self.sched is not None:
            self.sched.load_state_dict(dict(st["sched"]))
        self.step = int(st["step"])
        self.curve = [list(row) for row in st["curve"]]
        self.extra = dict(st["extra"])
        self._t0 = time.perf_counter() - float(st["wall"])
