"""Mazes, Levin search and adaptive Levin search (ML97 experiments 1 and 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import cli, jit_and_python, read_json
from metahook.envs import pomaze as pm
from metahook.harness.registry import get_experiment
from metahook.search.als import LevinSearch, adapt, uniform_policy


def test_the_mazes_match_the_papers_facts() -> None:
    grid, s, g = pm.maze_exp1()
    assert int((grid == 0).sum()) == 952
    assert pm.distances(grid, s)[g] == 127
    grid2, s2, goals = pm.maze_exp2()
    assert grid2.shape == (23, 23) and len(goals) == 7
    d = [int(pm.distances(grid2, s2)[x]) for x in goals]
    assert d == sorted(d) and len(set(d)) == 7


def test_repeat_instructions() -> None:
    grid = np.array([[1, 1, 1, 1, 1, 1],
                     [1, 0, 0, 0, 0, 1],
                     [1, 1, 1, 0, 1, 1],
                     [1, 1, 1, 0, 1, 1],
                     [1, 1, 1, 1, 1, 1]], dtype=np.int8)
    # code 1: forward until front blocked, then turn right; from (1,1) facing east
    pos = np.array([1, 1, 1], dtype=np.int64)
    assert pm.run_repeat(grid, pos, 1, -1, -1, 100) == 3 and pos.tolist() == [1, 4, 2]
    # "until right free" from (1,1) facing east stops at (1,3) (south of it is free), turns none
    code = [i for i, (c, r) in enumerate(pm.REPEATS) if c == pm.RIGHT_FREE and r == pm.ROT_NONE]
    pos = np.array([1, 1, 1], dtype=np.int64)
    assert pm.run_repeat(grid, pos, code[0], -1, -1, 100) == 2 and pos.tolist() == [1, 3, 1]
    # reaching the goal on the way: -(steps + 1)
    pos = np.array([1, 1, 1], dtype=np.int64)
    assert pm.run_repeat(grid, pos, 1, 1, 3, 100) == -3


_SCRIPT = """
import json
from metahook.envs.pomaze import maze_exp2
from metahook.search.als import LevinSearch, uniform_policy
grid, s, goals = maze_exp2()
ls = LevinSearch(grid, 5, 4)
out = []
for g in goals[:3]:
    found, steps, path, prog = ls.search(uniform_policy(5, 4), (s[0], s[1], 1), g)
    out.append([found, steps, path, prog.tolist()])
print(json.dumps(out))
"""


def test_levin_search_jit_and_pure_python_agree() -> None:
    outs = jit_and_python(_SCRIPT, timeout=300)
    assert outs[0] == outs[1]
    assert all(found for found, *_ in outs[0])


def test_levin_search_finds_the_most_probable_solution_first() -> None:
    grid, s, goals = pm.maze_exp2()
    ls = LevinSearch(grid, 5, 4)
    P = uniform_policy(5, 4)
    found, steps, path, prog = ls.search(P, (s[0], s[1], 1), goals[0])
    # goal 1 lies on the first corridor: one forward-until-front-blocked instruction reaches it
    assert found and len(prog) == 1 and pm.REPEATS[prog[0, 0], 0] == pm.FRONT_BLOCKED
    assert path == int(pm.distances(grid, s)[goals[0]])
    # with the bias shifted away from that instruction, LS pays more to find a solution
    P2 = P.copy()
    P2[0, :8] = 0.002
    P2[0, 8] = 1.0 - 8 * 0.002
    found2, steps2, _, _ = ls.search(P2, (s[0], s[1], 1), goals[0])
    assert found2 and steps2 > steps


def test_adapt_shifts_the_bias_towards_the_solution_and_keeps_distributions() -> None:
    P = uniform_policy(5, 4)
    prog = np.array([[1, 0, 0], [8, 0, 3], [2, 0, 0]], dtype=np.int64)
    no = (np.zeros((1, 4)), np.zeros((1, 10)), np.zeros(15, dtype=np.int64),
          np.zeros(7, dtype=np.int64))
    adapt(P, prog, 3, 5, 4, 0.3, False, *no)
    assert P[0, 1] > 1 / 9 and P[1, 8] > 1 / 9 and P[5 + 1, 0] > 1 / 5 and P[10 + 1, 2] > 1 / 4
    assert np.allclose(P[:5, :9].sum(axis=1), 1) and np.allclose(P[5:10, :5].sum(axis=1), 1)
    assert np.allclose(P[10:, :4].sum(axis=1), 1)
    assert np.allclose(P[3], uniform_policy(5, 4)[3])  # positions beyond the program: untouched


def test_ssa_als_transfer_quick(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = cli("run", "ssa-als-transfer", "--scale", "quick", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    m = read_json(out / "result.json")["metrics"]
    # the headline (the smoke criterion): plain LS cannot find the far goals within the quick
    # scale's cap; adapting the bias (ALS, with or without SSA) finds them all, more than 10 times
    # faster, at both learning rates
    ok, why = get_experiment("ssa-als-transfer").smoke(m)
    assert ok, why
    for key in ("als@0.1", "als@0.95", "ssa_als@0.1", "ssa_als@0.95"):
        assert f"{key}_speedup_over_ls" in m
    assert m["ssa_als_stack_size"] > 0
    assert (out / "plots" / "search_steps.png").stat().st_size > 5_000


def test_ls_maze_quick(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = cli("run", "ls-maze", "--scale", "quick", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    m = read_json(out / "result.json")["metrics"]
    assert m["free_fields"] == 952 and m["shortest_path"] == 127
    # the headline (the smoke criterion): Levin search finds a program that walks the maze to
    # the goal in under 300 fields (seeds 0-2: on the 127-step shortest path)
    ok, why = get_experiment("ls-maze").smoke(m)
    assert ok, why
    # the reactive Q(lambda) learner stays far from the LS program's path length
    assert m["q_steps_per_episode_last"] is None or m["q_steps_per_episode_last"] > 5 * 127
    assert (out / "plots" / "episode_length.png").stat().st_size > 5_000
