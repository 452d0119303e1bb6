"""The compiled life loops and Q(λ) against plain Python (differential tests)."""

from __future__ import annotations

import numpy as np

from conftest import jit_and_python
from metahook.experiments.ssa_doors_keys import Config
from metahook.rl.q_lambda import q_lambda_update
from metahook.rsi.doors_keys_life import DoorsKeysParams
from metahook.rsi.ssa import SuccessStory

_LIVES = """
import json, numpy as np
from metahook.experiments.ssa_doors_keys import Config
from metahook.rsi.doors_keys_life import DoorsKeysLife
from metahook.experiments.is_function_approx import Config as FConfig
from metahook.rsi.function_life import FunctionCurriculumLife
out = {}
for learner, ssa in (("smp", True), ("q", True)):
    lf = DoorsKeysLife(Config(eval_max_steps=20_000).life_params(), learner, ssa, seed=5)
    lf.advance(60_000, 10**9)
    st = lf.state_dict()
    out[learner] = {k: np.asarray(v).round(12).tolist() for k, v in st.items()
                    if k in ("fstate", "istate", "loop_regs", "trials", "Q", "q_rewards")}
    if learner == "smp":
        g = st["group"]
        out[learner].update(P=np.asarray(g["P"]).round(12).tolist(), iregs=g["iregs"].tolist(),
                            counts=g["counts"].tolist())
f = FunctionCurriculumLife(FConfig().params(True), seed=3)
f.advance(300_000)
out["f"] = {"P": f.smp.P.round(12).tolist(), "trials": f.trials.tolist(),
            "iregs": f.smp.iregs.tolist()}
print(json.dumps(out))
"""


def test_life_loops_jit_and_pure_python_agree() -> None:
    outs = jit_and_python(_LIVES, timeout=600)
    assert outs[0] == outs[1]
    assert outs[0]["f"]["trials"]  # the function learner solved some trials in 300,000 steps


def test_the_life_defaults_are_the_experiments_full_setting() -> None:
    # the SMP benchmark runs DoorsKeysLife with its defaults: the same life as ssa-doors-keys's
    assert Config().life_params() == DoorsKeysParams()


def _watkins_reference(Q, E, s, a, r, s2, a2, alpha, gamma, lam):
    """Watkins's Q(λ) with replacing traces, written out plainly."""
    greedy = int(np.argmax(Q[s2]))
    delta = r + gamma * Q[s2, greedy] - Q[s, a]
    next_is_greedy = Q[s2, a2] == Q[s2, greedy]  # decided before the update (Sutton & Barto)
    E[s, :] = 0.0
    E[s, a] = 1.0
    Q += alpha * delta * E
    if next_is_greedy:
        E *= gamma * lam
        E[E <= 1e-8] = 0.0
    else:
        E[:] = 0.0


def test_q_lambda_matches_a_plain_implementation_and_ssa_restores_it() -> None:
    rng = np.random.default_rng(0)
    n_s, n_a = 6, 3
    Q1, E1 = np.zeros((n_s, n_a)), np.zeros((n_s, n_a))
    Q2, E2 = Q1.copy(), E1.copy()
    ssa = SuccessStory(n_s, n_a, 4, 8)
    ssa.begin_block(0.0, 0.0)
    before = Q1.copy()
    s, a = 0, 0
    for _ in range(500):
        s2, a2, r = int(rng.integers(n_s)), int(rng.integers(n_a)), float(rng.normal())
        ssa.grow(rows=n_s)
        q_lambda_update(Q1, E1, s, a, r, s2, a2, 0.2, 0.9, 0.8, True, ssa.tags, ssa.entries,
                        ssa.mark, ssa.counts)
        _watkins_reference(Q2, E2, s, a, r, s2, a2, 0.2, 0.9, 0.8)
        s, a = s2, a2
    assert np.allclose(Q1, Q2, rtol=0, atol=1e-12) and np.allclose(E1, E2)
    # one block holds every row the updates touched; popping it restores the initial table
    assert ssa.n_tags == 1 and ssa.n_entries == n_s
    ssa.call(Q1, 1000.0, -1e9)
    assert np.array_equal(Q1, before)
