"""Meta-GP: bounded evaluation, operators as programs of the machine, measured operator effect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metahook.evolution.gp_machine import END, STOP_NAMES, GPMachine
from metahook.evolution.meta_gp import (
    OP_TOKENS,
    SEEDS,
    MetaGP,
    Settings,
    apply_operator,
    arity_of,
    check_child,
    make_problem,
    operator_stream,
    stack_effect,
    subtree_start,
    tree_nodes,
)
from metahook.evolution.meta_gp_deap import run_deap
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment
from metahook.machines.forth import assemble, disassemble, vm
from metahook.machines.forth import reference as ref
from metahook.machines.forth.instructions import N_EXTENDED
from metahook.machines.forth.layout import ADDP, ADP, N_DECLARED, NROWS, ROW
from oops_helpers import step_ref

MACHINE = GPMachine()
PARITY3 = make_problem("even-3")


def _ref_operator(op: np.ndarray, ds0: np.ndarray, Ds0: np.ndarray, max_steps: int
                  ) -> tuple[str, list[int]]:
    """The operator run on the pure-Python reference interpreter: (stop, child)."""
    q = [int(x) for x in MACHINE.M[vm.Q0 + 1: vm.Q0 + 77]] + [int(x) for x in op]
    old = [(int(MACHINE.M[vm.OLD0 + 2 * k]), int(MACHINE.M[vm.OLD0 + 2 * k + 1]))
           for k in range(1, N_DECLARED + 1)]
    m = ref.Machine(q, old, n_tokens=N_EXTENDED)
    m.mem = [0] * (NROWS * ROW)
    m.mem[ROW: 2 * ROW] = [int(x) for x in MACHINE.clean]
    m.task, m.T, m.P = 1, max_steps, 1.0
    m.set(ADP, len(ds0))
    for k, v in enumerate(ds0, start=1):
        m.set(ADP + k, int(v))
    m.set(ADDP, len(Ds0))
    for k, v in enumerate(Ds0, start=1):
        m.set(ADDP + k, int(v))
    stop = step_ref(m)
    return stop, [m.cell(ADP + k) for k in range(1, max(0, min(m.dp, 200)) + 1)]


def test_evaluation_never_hangs_on_random_programs_and_operators() -> None:
    rng = np.random.default_rng(0)
    progs = [rng.integers(1, N_EXTENDED + 1, size=int(rng.integers(1, 60))) for _ in range(300)]
    _, stops, steps = MACHINE.evaluate(progs, PARITY3.inputs, 200)
    assert set(np.unique(stops)) <= set(STOP_NAMES) and steps.max() <= 200
    assert np.array_equal(MACHINE.M[MACHINE_ROW], MACHINE.clean)  # every run started clean
    parents = [np.array(assemble("c1 outb c2 outb and c3 outb or"), dtype=np.int64)] * 2
    for _ in range(300):
        op = np.array(OP_TOKENS)[rng.integers(len(OP_TOKENS), size=int(rng.integers(1, 40)))]
        child, why = apply_operator(MACHINE, op, int(rng.integers(1, 3)), parents,
                                    PARITY3.tokens, PARITY3.max_len, rng, max_steps=500)
        assert (child is None) != (why == "")


MACHINE_ROW = slice(vm.TAPE0 + ROW, vm.TAPE0 + 2 * ROW)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(OP_TOKENS), min_size=1, max_size=24),
       st.integers(1, 2), st.integers(0, 2**32 - 1))
def test_operators_are_programs_of_the_machine(code: list[int], arity: int, seed: int) -> None:
    op = np.array(code, dtype=np.int64)
    assert assemble(disassemble(code)) == code  # serialisable as program text
    rng = np.random.default_rng(seed)
    p1 = np.array(assemble("c1 outb c2 outb and not"), dtype=np.int64)
    p2 = np.array(assemble("c3 outb c1 outb or"), dtype=np.int64)
    ds0 = np.concatenate([p1, p2]) if arity == 2 else p1
    stream = operator_stream(rng, len(p1), len(p2) if arity == 2 else 0, PARITY3.tokens)
    stop, _, child, _ = MACHINE.run_operator(op, ds0, stream, 300)
    ref_stop, ref_child = _ref_operator(op, ds0, stream, 300)
    assert STOP_NAMES[stop] == ref_stop  # the plain interpreter runs it the same way
    if stop == END:
        assert list(child) == ref_child
        assert isinstance(check_child(child, [p1, p2][:arity], PARITY3.tokens,
                                      PARITY3.max_len), str)
    child2, reason2 = apply_operator(MACHINE, op, arity, [p1, p2], PARITY3.tokens,
                                     PARITY3.max_len, np.random.default_rng(seed))
    assert (child2 is None and reason2) or (child2 is not None and reason2 == "")
    if child2 is not None:
        assert set(child2.tolist()) <= set(PARITY3.tokens) and 1 <= len(child2) <= 96


def test_seed_operators_do_what_they_say() -> None:
    p = np.array(assemble("c1 outb c2 outb and"), dtype=np.int64)
    q = np.array(assemble("c3 outb not"), dtype=np.int64)
    top_first = [5, 0, 3, 1, 77, 2]
    stream = np.array(top_first[::-1], dtype=np.int64)
    _, _, child, _ = MACHINE.run_operator(np.array(assemble(SEEDS["point"][0])), p, stream, 500)
    assert disassemble(child.tolist()) == "c1 outb not outb and"
    top_first = [5, 3, 2, 2, 0, 0]
    stream = np.array(top_first[::-1], dtype=np.int64)
    _, _, child, _ = MACHINE.run_operator(np.array(assemble(SEEDS["crossover"][0])),
                                          np.concatenate([p, q]), stream, 500)
    assert disassemble(child.tolist()) == "c1 outb outb not"


def test_subtree_seed_replaces_a_subtree_by_one_of_the_other_parent() -> None:
    p = np.array(assemble("c1 outb c2 outb and c3 outb or not"), dtype=np.int64)
    q = np.array(assemble("c2 outb c3 outb and not"), dtype=np.int64)
    eff, ar = stack_effect(PARITY3), arity_of(PARITY3)
    assert tree_nodes(p, eff)[0].tolist() == [2, 4, 5, 7, 8, 9]  # c1, c2, c3 are leaf parts
    for prog in (p, q):
        for end, n in zip(*tree_nodes(prog, eff), strict=True):
            assert subtree_start(prog, int(end) - 1, ar) == end - n
    op = np.array(assemble(SEEDS["subtree"][0]), dtype=np.int64)
    for k, m, a, c in ((4, 5, 2, 5), (8, 6, 8, 6), (9, 2, 9, 2), (2, 4, 2, 2)):
        top_first = [len(p), len(q), 1, 1, 77, 2, k, m, a, c]
        _, _, child, _ = MACHINE.run_operator(op, np.concatenate([p, q]),
                                              np.array(top_first[::-1]), 500)
        assert child.tolist() == [*p[:k - a], *q[m - c:m], *p[k:]]


def test_operator_fitness_is_measured_from_its_children() -> None:
    gp = MetaGP(PARITY3, Settings(depth=1, population=30, evaluations=200, window=1000),
                np.random.default_rng(1))
    gp.step()
    assert gp.last_children
    by_op: dict[int, list[float]] = {}
    for uid, child, f_child, f_parent in gp.last_children:
        outs, stops, _ = MACHINE.evaluate([child], PARITY3.inputs, PARITY3.max_steps)
        assert PARITY3.score(outs, stops)[0][0] == f_child  # the child's own fitness
        by_op.setdefault(uid, []).append(max(0.0, f_child - f_parent))
    ops = {o.uid: o for o in gp.levels[1]}
    for uid, gains in by_op.items():
        if uid in ops:  # the window ends with exactly its children's improvements
            assert ops[uid].window[-len(gains):] == gains
            assert ops[uid].fitness(0.0) == sum(ops[uid].window) / len(ops[uid].window)


def test_fixed_operator_baseline_solves_even3() -> None:
    out = run_deap(PARITY3, Settings(population=100, evaluations=5000), np.random.default_rng(1))
    assert out["solved"] and out["best_hits"] == 8 and out["evals_to_solve"] <= 5000


def test_credit_is_conserved_except_external_reward() -> None:
    gp = MetaGP(PARITY3, Settings(depth=2, economy=True, population=30, evaluations=600,
                                  replace_every=10, min_trials=5), np.random.default_rng(2))
    out = gp.run()
    assert abs(out["credit_total"] - out["credit_expected"]) < 1e-9
    assert gp.economy is not None and len(gp.removed) > 0


def _quick(name: str, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The experiment's quick scale through the harness: (metrics, operators.json)."""
    res = run_experiment(name, out=tmp_path, scale="quick", seed=0)
    assert res["status"] == "ok"
    ok, why = get_experiment(name).smoke(res["metrics"])  # type: ignore[misc]
    assert ok, why
    return res["metrics"], json.loads((tmp_path / "operators.json").read_text())


def _check_operators(ops: dict[str, Any]) -> None:
    """Every surviving operator is a program of the machine with a fitness from its children."""
    for per_level in ops.values():
        for level, listed in per_level.items():
            for op in listed:
                assert op["level"] == int(level) and op["text"]
                code = np.array(assemble(op["text"]), dtype=np.int64)
                assert disassemble(code) == op["text"]  # serialisable and runnable as written
                if op["applied"] == 0:
                    assert op["fitness"] == 0.0  # no children, no measured effect


def test_parity_quick_scale_bounded_and_baseline_solves_even3(tmp_path: Path) -> None:
    m, ops = _quick("meta-gp-parity", tmp_path)
    assert m["success_rate_deap"] > 0 and m["evals_to_solve_median_deap"] <= 5000
    # random operators halt, overrun or write junk; each such child is rejected with a reason
    assert m["rejections"]["operator halted"] > 0
    assert all(why and n > 0 for why, n in m["rejections"].items())
    assert set(ops) == {"even-3/meta1", "even-3/meta2", "even-3/credit"}
    _check_operators(ops)


def test_regression_quick_scale_fixed_gp_solves_the_quartic(tmp_path: Path) -> None:
    m, ops = _quick("meta-gp-regression", tmp_path)
    assert m["success_rate_fixed"] > 0
    # both means: over the solved runs, and with unsolved runs counted at the budget
    solved, rate = m["evals_to_solve_mean_fixed"], m["success_rate_fixed"]
    capped = m["evals_mean_capped_fixed"]
    assert capped == pytest.approx(rate * solved + (1 - rate) * m["evaluations_budget"])
    _check_operators(ops)
