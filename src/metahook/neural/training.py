"""Small helpers shared by the neural experiments: seeded construction, checkpointable optimizer
state, device choice.  Nothing here reads or changes global random state outside a
``torch.random.fork_rng`` block.
"""

from __future__ import annotations

from collections.abc import Callable
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
