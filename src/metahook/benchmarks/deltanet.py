"""``metahook bench deltanet``: fwd+bwd tokens per second, chunkwise vs recurrent DeltaNet.

Inputs: ``B`` sequences, ``H`` heads, head size ``D``, float32, L2-normalised keys, random
``beta``; the loss is ``o.sum() + S.sum()``.  For each ``T`` we time our recurrent reference
(:func:`~metahook.neural.fast_weights.delta_rule_recurrent`) and our chunkwise form
(:func:`~metahook.neural.fast_weights.delta_rule_chunkwise`), and -- when the ``fla-core``
package is installed -- the pure-PyTorch chunkwise and recurrent references that ship with
flash-linear-attention (``fla/ops/delta_rule/naive.py``), loaded from their file so that fla's
Triton-dependent package ``__init__`` is never imported.  fla's references scale ``q`` by
``D^-0.5``; we feed ours the same scaled ``q`` and check that the outputs agree.

Figures: ``speedup_chunkwise_T4096`` (ours chunkwise over ours recurrent) and
``ratio_vs_fla_chunkwise_T4096`` (fla chunkwise time over ours: above 1 means ours is faster).
"""

from __future__ import annotations

import functools
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from metahook.harness.bench import register_benchmark
from metahook.neural.fast_weights import delta_rule_chunkwise, delta_rule_recurrent


def load_fla_naive() -> ModuleType | None:
    """fla's ``ops/delta_rule/naive.py`` as a stand-alone module, or ``None`` if not installed."""
    spec = importlib.util.find_spec("fla")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "ops" / "delta_rule" / "naive.py"
    if not path.is_file():
        return None
    mod_spec = importlib.util.spec_from_file_location("_fla_delta_rule_naive", path)
    if mod_spec is None or mod_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)
    except ImportError:  # einops missing
        return None
    return module


def _ours(fn: Callable[..., tuple[torch.Tensor, torch.Tensor]], q: torch.Tensor,
          k: torch.Tensor, v: torch.Tensor, beta: torch.Tensor, **kw: Any
          ) -> tuple[torch.Tensor, torch.Tensor]:
    return fn(q * q.shape[-1] ** -0.5, k, v, beta, **kw)  # fla's references scale q so


def _time(fn: Callable[[], tuple[torch.Tensor, torch.Tensor]], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        o, S = fn()
        (o.sum() + S.sum()).backward()
        best = min(best, time.perf_counter() - t0)
    return best


@register_benchmark("deltanet", "fwd+bwd tokens/s: chunkwise vs recurrent DeltaNet, T=256..4096")
def bench(quick: bool) -> dict[str, Any]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: stable timings on a shared machine
    try:
        return _bench(quick)
    finally:
        torch.set_num_threads(threads)


def _bench(quick: bool) -> dict[str, Any]:
    B, H, D, C = 1, 4, 64, 64
    lengths = (256, 1024) if quick else (256, 512, 1024, 2048, 4096)
    repeats = 2 if quick else 3
    fla = load_fla_naive()
    gen = torch.Generator().manual_seed(0)
    figures: dict[str, Any] = {"B": B, "H": H, "D": D, "chunk_size": C, "dtype": "float32",
                               "threads": torch.get_num_threads(), "fla_naive": fla is not None}
    for T in lengths:
        q = torch.randn(B, H, T, D, generator=gen)
        k = F.normalize(torch.randn(B, H, T, D, generator=gen), dim=-1)
        v = torch.randn(B, H, T, D, generator=gen)
        beta = torch.rand(B, H, T, generator=gen)
        ql, kl, vl, bl = (t.clone().requires_grad_() for t in (q, k, v, beta))
        ours_chunk = functools.partial(_ours, delta_rule_chunkwise, ql, kl, vl, bl, chunk_size=C)
        ours_rec = functools.partial(_ours, delta_rule_recurrent, ql, kl, vl, bl)
        tokens = B * T
        t_chunk = _time(ours_chunk, repeats)
        t_rec = _time(ours_rec, 1)
        figures[f"tokens_per_s_chunkwise_T{T}"] = round(tokens / t_chunk)
        figures[f"tokens_per_s_recurrent_T{T}"] = round(tokens / t_rec)
        figures[f"speedup_chunkwise_T{T}"] = round(t_rec / t_chunk, 1)
        if fla is not None:
            fla_chunk = functools.partial(fla.delta_rule_chunkwise, ql, kl, vl, bl, chunk_size=32)
            with torch.no_grad():
                diff = (fla_chunk()[0] - ours_chunk()[0]).abs().max()
            figures[f"max_abs_diff_vs_fla_T{T}"] = float(diff)
            t_fla = _time(fla_chunk, repeats)
            figures[f"tokens_per_s_fla_chunkwise_T{T}"] = round(tokens / t_fla)
            figures[f"ratio_vs_fla_chunkwise_T{T}"] = round(t_fla / t_chunk, 2)
            if T <= 1024:
                fla_rec = functools.partial(fla.delta_rule_recurrence, ql, kl, vl, bl)
                figures[f"tokens_per_s_fla_recurrent_T{T}"] = round(tokens / _time(fla_rec, 1))
    return figures
