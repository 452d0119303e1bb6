"""What one token dispatch costs when the branch predictor cannot foresee the token.

A numba loop dispatches on a token among 73 cases (the OOPS search set's size); each case is a
two-operation update of one accumulator, so the loop measures the dispatch and little else. Three
token streams of 2^16 tokens, each run 200 times, per CPU-second:

* a repeating 8-token loop (what a program like the Hanoi solver gives the predictor);
* the 5 tokens the 1^n2^n phase boosts, drawn at random;
* all 73 tokens drawn at random.

The difference between the first and the others is the price of a mispredicted dispatch, which
every token of a search pays (benchmarks/RESULTS.md, "At rest, by instruction counts").

    python benchmarks/dispatch_floor.py
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

N_CASES = 73


def _source(n_cases: int) -> str:
    """A function with one ``if``/``elif`` case per token (numba compiles it to a jump table)."""
    lines = ["def dispatch(tokens, passes):", "    acc = 0", "    for _ in range(passes):",
             "        for k in range(tokens.size):", "            t = tokens[k]"]
    for i in range(1, n_cases + 1):
        lines.append(f"            {'if' if i == 1 else 'elif'} t == {i}:")
        lines.append(f"                acc = (acc * {2 * i + 1} + {i}) & 0xFFFFFFF")
    lines.append("    return acc")
    return "\n".join(lines)


def main() -> None:
    namespace: dict[str, object] = {}
    exec(_source(N_CASES), namespace)  # the source is generated above, no outside input
    dispatch = njit(namespace["dispatch"])
    rng = np.random.default_rng(0)
    n, passes = 1 << 16, 200
    streams = {
        "repeating 8-token loop": np.tile(np.array([59, 14, 60, 15, 7, 39, 40, 32]), n // 8),
        "5 boosted tokens at random": rng.choice([7, 14, 15, 59, 60], n),
        f"all {N_CASES} tokens at random": rng.integers(1, N_CASES + 1, n),
    }
    for name, tokens in streams.items():
        tokens = tokens.astype(np.int64)
        dispatch(tokens, 1)  # compile
        t0 = time.process_time()
        dispatch(tokens, passes)
        ns = (time.process_time() - t0) / (passes * n) * 1e9
        print(f"{name}: {ns:.2f} ns per token")


if __name__ == "__main__":
    main()
