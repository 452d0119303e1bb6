"""A prepared GPU check (run it when a CUDA device is lent): our chunkwise DeltaNet on CUDA
against our recurrent form and, where ``fla-core`` with Triton is importable, against fla's
``chunk_delta_rule`` kernel -- outputs, gradients and forward+backward time.

    python benchmarks/gpu_deltanet_vs_fla.py            # prints one JSON object

Layouts: ours ``(B, H, T, D)``, fla's ``(B, T, H, D)``; fla scales ``q`` by ``D^-0.5`` by default,
so ours is given the scaled ``q``.  Not part of the test suite (no GPU in CI).
"""

from __future__ import annotations

import json
import time

import torch
import torch.nn.functional as F  # noqa: N812

from metahook.neural.fast_weights import delta_rule_chunkwise, delta_rule_recurrent


def timed(fn, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def fla_vs_ours(out: dict, chunk_delta_rule, T: int, inputs: tuple, o_ours: torch.Tensor,
                grads_ours: list) -> None:
    """fla's Triton kernel takes bfloat16 only: compare it, in bf16, with ours in float32."""
    q, k, v, beta = inputs
    fl = [t.detach().transpose(1, 2).contiguous().to(torch.bfloat16).requires_grad_()
          for t in (q, k, v)]
    fb = beta.detach().transpose(1, 2).contiguous().to(torch.bfloat16).requires_grad_()

    def fla(fl: list = fl, fb: torch.Tensor = fb) -> tuple[torch.Tensor, ...]:
        o, S = chunk_delta_rule(fl[0], fl[1], fl[2], fb, output_final_state=True)
        (o.float().sum() + S.float().sum()).backward()
        return o, S

    o_fla, _ = (t.detach() for t in fla())
    scale = float(o_ours.detach().abs().max())
    out[f"max_rel_diff_vs_fla_bf16_T{T}"] = float(
        (o_fla.float().transpose(1, 2) - o_ours.detach()).abs().max()) / scale
    out[f"max_rel_grad_diff_vs_fla_bf16_T{T}"] = max(
        float((a.grad.float().transpose(1, 2) - b).abs().max()) / float(b.abs().max())
        for a, b in zip(fl, grads_ours[:3], strict=True))
    out[f"fla_triton_bf16_fwd_bwd_ms_T{T}"] = 1e3 * timed(fla)


def main() -> None:
    out: dict = {"cuda": torch.cuda.is_available()}
    if not out["cuda"]:
        print(json.dumps(out))
        return
    out["device"] = torch.cuda.get_device_name()
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    B, H, D = 4, 8, 64
    try:
        from fla.ops.delta_rule import chunk_delta_rule
    except Exception as exc:  # fla or triton missing
        chunk_delta_rule = None
        out["fla"] = f"not importable: {type(exc).__name__}: {exc}"
    for T in (1024, 4096):
        q = torch.randn(B, H, T, D, device=dev, generator=g)
        k = F.normalize(torch.randn(B, H, T, D, device=dev, generator=g), dim=-1)
        v = torch.randn(B, H, T, D, device=dev, generator=g)
        beta = torch.rand(B, H, T, device=dev, generator=g)
        leaves = [t.clone().requires_grad_() for t in (q, k, v, beta)]

        def ours(leaves: list = leaves) -> tuple[torch.Tensor, ...]:
            qq, kk, vv, bb = leaves
            o, S = delta_rule_chunkwise(qq * D**-0.5, kk, vv, bb, chunk_size=64)
            (o.sum() + S.sum()).backward()
            return o, S

        o_ours, _ = ours()
        grads_ours = [t.grad.clone() for t in leaves]
        if T == 1024:
            with torch.no_grad():
                o_rec, _ = delta_rule_recurrent(q * D**-0.5, k, v, beta)
            out[f"max_diff_chunk_vs_recurrent_T{T}"] = float((o_rec - o_ours).detach().abs().max())
        out[f"ours_chunkwise_fwd_bwd_ms_T{T}"] = 1e3 * timed(ours)
        if chunk_delta_rule is not None:
            try:
                fla_vs_ours(out, chunk_delta_rule, T, (q, k, v, beta), o_ours, grads_ours)
            except Exception as exc:  # report, keep the other figures
                out[f"fla_T{T}"] = f"failed: {type(exc).__name__}: {exc}"
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
