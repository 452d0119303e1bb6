"""The doors-and-keys world: its stated facts, the PettingZoo API, JIT against pure Python."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import jit_and_python
from metahook.envs import doors_keys as dk

LAYOUT = (dk.WALLS, dk.DOORS, dk.KEYS, dk.GOAL)


def _world(ax: float = 50.0, ay: float = 50.0, bx: float = 60.0, by: float = 60.0):
    fs = np.array([ax, bx, ay, by])
    ist = np.zeros(dk.N_ISTATE, dtype=np.int64)
    return fs, ist, np.zeros(4)


def _act(fs, ist, res, agent, action, arg=0, step=12.0):
    dk.dk_act(fs, ist, agent, action, arg, step, *LAYOUT, res)
    return res.copy()


def _goto(fs, ist, res, agent, tx, ty, limit=400):
    """Walk towards (tx, ty) (test helper: sets the heading directly); True when within 12 px."""
    for _ in range(limit):
        x, y = fs[dk.FX + agent], fs[dk.FY + agent]
        if (x - tx) ** 2 + (y - ty) ** 2 < 144:
            return True
        ist[dk.DIR + agent] = dk._direction_to(x, y, tx, ty)
        r = _act(fs, ist, res, agent, dk.MOVE)
        if r[dk.RES_END]:
            return "goal"
    return False


def test_the_task_sequence_of_the_paper_is_possible_and_necessary() -> None:
    fs, ist, res = _world()
    # B cannot get into room A while door A is closed: it bumps into the door
    for wp in [(250, 80), (520, 80), (520, 270), (680, 270)]:
        assert _goto(fs, ist, res, 1, *wp)
    ist[dk.DIR + 1] = 0
    for _ in range(5):
        _act(fs, ist, res, 1, dk.MOVE)
    assert fs[dk.FY + 1] > 240 and ist[dk.DOOR_OPEN] == 0
    # B cannot take key A
    assert _goto(fs, ist, res, 1, 720, 300) and _goto(fs, ist, res, 1, 770, 560)
    assert ist[dk.CARRY + 1] == 0
    # 1. A takes key A in the south-east corner
    for wp in [(250, 80), (520, 80), (520, 300), (720, 300), (770, 560)]:
        assert _goto(fs, ist, res, 0, *wp)
    assert ist[dk.CARRY] == 1
    # 2. A opens door A by bumping into it with its key
    assert _goto(fs, ist, res, 0, 680, 270)
    ist[dk.DIR] = 0
    for _ in range(4):
        _act(fs, ist, res, 0, dk.MOVE)
    assert ist[dk.DOOR_OPEN] == 1
    # 3. B enters room A and takes key B; 4. B opens door B; 5. B reaches the goal
    for wp in [(680, 270), (680, 150), (740, 60)]:
        assert _goto(fs, ist, res, 1, *wp)
    assert ist[dk.CARRY + 1] == 1
    for wp in [(680, 150), (680, 270), (300, 270), (300, 480), (265, 480)]:
        assert _goto(fs, ist, res, 1, *wp)
    ist[dk.DIR + 1] = 6
    for _ in range(4):
        _act(fs, ist, res, 1, dk.MOVE)
    assert ist[dk.DOOR_OPEN + 1] == 1
    assert _goto(fs, ist, res, 1, 150, 480)
    assert _goto(fs, ist, res, 1, 60, 540) == "goal"
    assert res[0] == pytest.approx(3.0) and res[1] == pytest.approx(5.0 - 0.0001)
    assert ist[dk.TRIALS] == 1 and ist[dk.WINS + 1] == 1


def test_the_goal_room_is_closed_without_key_b() -> None:
    fs, ist, res = _world()
    for wp in [(250, 80), (250, 270), (300, 270), (300, 480), (265, 480)]:
        assert _goto(fs, ist, res, 0, *wp)
    ist[dk.DIR] = 6
    for _ in range(8):
        _act(fs, ist, res, 0, dk.MOVE)
    # A stays outside: the door is at x 230..240, A's disc (radius 15) stops east of it
    assert fs[dk.FX] >= 255.0 and ist[dk.DOOR_OPEN + 1] == 0 and ist[dk.BUMPS] > 0


def test_sensing_sees_50_px_ahead_and_not_through_walls() -> None:
    # facing east at x = 500: the west wall of room A (x = 560) is 60 - 15 = 45 px ahead
    fs, ist, res = _world(ax=500.0, ay=100.0)
    ist[dk.DIR] = 2
    assert _act(fs, ist, res, 0, dk.LOOK_OBSTACLE)[dk.RES_SENSED] == 1
    fs[dk.FX] = 480.0  # 65 px ahead: out of sight
    assert _act(fs, ist, res, 0, dk.LOOK_OBSTACLE)[dk.RES_SENSED] == 0
    # B facing key B from just outside room A's west wall: the wall hides it
    fs, ist, res = _world(bx=545.0, by=60.0)
    fs[dk.FX + 1], fs[dk.FY + 1] = 545.0, 60.0
    ist[dk.DIR + 1] = 2
    assert _act(fs, ist, res, 1, dk.LOOK_KEY)[dk.RES_SENSED] == 0
    # inside room A, 40 px west of key B: seen
    fs[dk.FX + 1] = 700.0
    assert _act(fs, ist, res, 1, dk.LOOK_KEY)[dk.RES_SENSED] == 1
    # key B is not agent A's key
    fs[dk.FX], fs[dk.FY], ist[dk.DIR] = 700.0, 60.0, 2
    assert _act(fs, ist, res, 0, dk.LOOK_KEY)[dk.RES_SENSED] == 0
    # sensing costs nothing; a turn costs the penalty
    assert res[0] == 0.0
    assert _act(fs, ist, res, 0, dk.TURN, 3)[0] == pytest.approx(-0.0001)
    assert ist[dk.DIR] == 5


def test_turning_relative_to_the_goal_faces_it() -> None:
    fs, ist, res = _world(ax=60.0, ay=300.0)
    _act(fs, ist, res, 0, dk.TURN_GOAL, 0)
    assert ist[dk.DIR] == 4  # the goal (60, 540) lies due south
    _act(fs, ist, res, 0, dk.TURN_GOAL, 4)
    assert ist[dk.DIR] == 0
    _act(fs, ist, res, 0, dk.TURN_KEY, 0)
    assert ist[dk.DIR] == 2  # key A (770, 570) lies east by south (21 degrees): east is nearest
    fs[dk.FX], fs[dk.FY] = 570.0, 360.0
    _act(fs, ist, res, 0, dk.TURN_KEY, 1)
    assert ist[dk.DIR] == 4  # key A lies south-east (3), plus one step clockwise


def test_pettingzoo_parallel_api() -> None:
    from pettingzoo.test import parallel_api_test

    parallel_api_test(dk.DoorsKeysEnv(), num_cycles=200)
    env = dk.DoorsKeysEnv(step_px=40.0)
    obs, _ = env.reset(seed=3)
    assert set(obs) == {"agent_A", "agent_B"} and obs["agent_A"].shape == (5,)
    rng = np.random.default_rng(0)
    total = {"agent_A": 0.0, "agent_B": 0.0}
    for _ in range(2000):
        _, rew, term, trunc, _ = env.step({a: int(rng.integers(7)) for a in env.agents})
        assert not any(term.values()) and not any(trunc.values())
        for a in total:
            total[a] += rew[a]
    assert total["agent_A"] < 0  # penalties only (no goal in 2000 random steps from the NW)
    with pytest.raises(ValueError, match="out of range"):
        env.step({"agent_A": 9, "agent_B": 0})


_SCRIPT = """
import json, sys
import numpy as np
from metahook.envs import doors_keys as dk
rng = np.random.default_rng(7)
fs = np.zeros(dk.N_FSTATE); ist = np.zeros(dk.N_ISTATE, dtype=np.int64); res = np.zeros(4)
u = rng.random(600); up = np.zeros(1, dtype=np.int64)
dk.dk_reset(fs, ist, u, up)
trace = []
for i in range(3000):
    a = i % 2
    action = int(rng.integers(9)); arg = int(rng.integers(16))
    dk.dk_act(fs, ist, a, action, arg, 30.0, dk.WALLS, dk.DOORS, dk.KEYS, dk.GOAL, res)
    trace.append(res.tolist())
    if res[2]:
        dk.dk_reset(fs, ist, u, up)
print(json.dumps({"fs": fs.tolist(), "ist": ist.tolist(), "trace": trace}))
"""


def test_jit_and_pure_python_agree() -> None:
    outs = jit_and_python(_SCRIPT, timeout=300)
    assert outs[0] == outs[1]
    assert any(t[3] for t in outs[0]["trace"])  # something was sensed along the way
