"""``metahook bench harness``: the cost of the harness's per-step calls (log, checkpoint)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from metahook.harness.bench import register_benchmark
from metahook.harness.context import RunContext


@register_benchmark("harness", "metrics lines and checkpoint writes per second")
def bench(quick: bool) -> dict[str, Any]:
    n = 2_000 if quick else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        ctx = RunContext(Path(tmp), seed=0, scale="quick", checkpoint_every_s=1e9)
        t0 = time.perf_counter()
        for i in range(n):
            ctx.log(i, value=i * 0.5)
        log_rate = n / (time.perf_counter() - t0)
        state = {"weights": np.zeros((256, 256)), "step": 0}
        m = 20 if quick else 200
        t0 = time.perf_counter()
        for _ in range(m):
            ctx.checkpoint(lambda: state, force=True)
        ckpt_rate = m / (time.perf_counter() - t0)
    return {"log_lines_per_s": round(log_rate), "checkpoints_per_s_512KiB": round(ckpt_rate, 1)}
