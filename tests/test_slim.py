"""The SLIM net machine: numba kernels against the pure-Python reference, invariants, bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.machines.slim import (
    Batch,
    Fovea,
    Run,
    SlimNet,
    run,
    run_batch,
    run_fovea,
    run_fovea_batch,
)
from metahook.machines.slim.reference import ReferenceSlim, RefRun

# discrete weights and thresholds make ties (and exact threshold hits) frequent
WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 1.0, 1.5, 2.0])
THETAS = np.array([-0.5, 0.0, 0.0, 0.5, 1.0])


def random_net(rng: np.random.Generator, n_in: int, sizes: list[int], density: float,
               n_clamped: int = 0) -> SlimNet:
    """Units in a random order; the halt unit is any non-input unit (alone or sharing a group);
    ``n_clamped`` further input units are clamped (command) units."""
    group = np.array([-1] * (n_in + n_clamped)
                     + [g for g, s in enumerate(sizes) for _ in range(s)])
    perm = rng.permutation(group.size)
    group = group[perm]
    n = group.size
    W = np.where(rng.random((n, n)) < density, rng.choice(WEIGHTS, (n, n)), 0.0)
    if rng.random() < 0.5:  # sometimes real-valued weights too
        W = np.where(rng.random((n, n)) < 0.3, np.round(rng.normal(size=(n, n)), 3), W)
    inputs = rng.permutation(np.flatnonzero(group == -1))
    halt = int(rng.choice(np.flatnonzero(group >= 0)))
    return SlimNet(W, group, inputs[:n_in], halt, rng.choice(THETAS, n), inputs[n_in:])


def reference(net: SlimNet) -> ReferenceSlim:
    assert net.theta is not None
    return ReferenceSlim(net.W.tolist(), net.group.tolist(), net.inputs.tolist(), net.halt,
                         net.theta.tolist(), net.clamped.tolist())


def random_pattern(rng: np.random.Generator, n_in: int) -> np.ndarray:
    if rng.random() < 0.7:
        return rng.integers(0, 2, n_in).astype(float)
    return np.where(rng.random(n_in) < 0.3, 0.0, np.round(rng.random(n_in), 2))


def same(fast: Run, ref: RefRun, fovea: bool) -> None:
    assert fast.halted == ref.halted
    assert fast.steps == ref.steps
    assert fast.state.tolist() == ref.state
    assert {(int(j), int(i)) for j, i in fast.used_edges()} == ref.used
    assert set(np.flatnonzero(fast.considered).tolist()) == ref.considered
    if fovea:
        assert fast.fovea == ref.fovea
    else:
        assert fast.fovea is None


def check_invariants(net: SlimNet, r: Run, max_steps: int) -> None:
    assert 0 <= r.steps <= max_steps
    assert r.halted == (r.state[net.halt] != 0.0)
    if not r.halted:
        assert r.steps == max_steps
    # used = considered source, non-zero weight, non-input target
    expect = r.considered[:, None] & (net.W != 0) & (net.group >= 0)[None, :]
    assert (r.used == expect).all()
    # binary non-input units, at most one winner per group
    non_input = r.state[net.group >= 0]
    assert set(non_input.tolist()) <= {0.0, 1.0}
    active = net.group[(r.state != 0) & (net.group >= 0)]
    assert active.size == np.unique(active).size


net_params = dict(
    seed=st.integers(0, 2**32 - 1),
    n_in=st.integers(0, 4),
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    density=st.floats(0.1, 0.7),
    max_steps=st.integers(0, 25),
)


@settings(max_examples=150)
@given(**net_params)
def test_pattern_runs_match_reference(seed: int, n_in: int, sizes: list[int], density: float,
                                      max_steps: int) -> None:
    rng = np.random.default_rng(seed)
    net = random_net(rng, n_in, sizes, density)
    pattern = random_pattern(rng, n_in)
    fast = run(net, pattern, max_steps)
    same(fast, reference(net).run_pattern(pattern.tolist(), max_steps), fovea=False)
    check_invariants(net, fast, max_steps)


def random_fovea(rng: np.random.Generator, net: SlimNet, n_in: int
                 ) -> tuple[Fovea, np.ndarray, tuple[int, int]]:
    ry = int(rng.choice([d for d in range(1, n_in + 1) if n_in % d == 0]))
    rx = n_in // ry
    shape = (ry + int(rng.integers(0, 5)), rx + int(rng.integers(0, 5)))
    image = np.where(rng.random(shape) < 0.3, 0.0, np.round(rng.random(shape), 2))
    candidates = np.flatnonzero(net.group >= 0)
    units = rng.choice(candidates, int(rng.integers(0, candidates.size + 1)), replace=False)
    moves = rng.integers(-2, 3, (units.size, 2))
    fovea = Fovea((ry, rx), tuple(int(u) for u in units),
                  tuple((int(a), int(b)) for a, b in moves))
    start = (int(rng.integers(0, image.shape[0] - ry + 1)),
             int(rng.integers(0, image.shape[1] - rx + 1)))
    return fovea, image, start


@settings(max_examples=120)
@given(**(net_params | {"n_in": st.integers(1, 6), "n_clamped": st.integers(0, 3)}))
def test_fovea_runs_match_reference(seed: int, n_in: int, sizes: list[int], density: float,
                                    max_steps: int, n_clamped: int) -> None:
    rng = np.random.default_rng(seed)
    net = random_net(rng, n_in, sizes, density, n_clamped)
    fovea, image, start = random_fovea(rng, net, n_in)
    command = rng.integers(0, 2, n_clamped).astype(float)
    fast = run_fovea(net, fovea, image, start, max_steps, command)
    moves = dict(zip(fovea.motor_units, fovea.moves, strict=True))
    ref = reference(net).run(image.tolist(), fovea.retina, start, moves, max_steps,
                             command.tolist())
    same(fast, ref, fovea=True)
    check_invariants(net, fast, max_steps)


def runs_equal(a: Run, b: Run) -> None:
    assert (a.halted, a.steps, a.fovea) == (b.halted, b.steps, b.fovea)
    assert a.state.tolist() == b.state.tolist()
    assert (a.used == b.used).all() and (a.considered == b.considered).all()


@settings(max_examples=50)
@given(**net_params, n_tasks=st.integers(0, 6))
def test_batches_equal_single_runs(seed: int, n_in: int, sizes: list[int], density: float,
                                   max_steps: int, n_tasks: int) -> None:
    rng = np.random.default_rng(seed)
    net = random_net(rng, n_in, sizes, density)
    patterns = np.array([random_pattern(rng, n_in) for _ in range(n_tasks)]).reshape(n_tasks,
                                                                                      n_in)
    batch = run_batch(net, patterns, max_steps)
    assert isinstance(batch, Batch) and len(batch) == n_tasks and batch.fovea is None
    for k in range(n_tasks):
        runs_equal(batch[k], run(net, patterns[k], max_steps))
    if n_in:
        fovea, image, _ = random_fovea(rng, net, n_in)
        ry, rx = fovea.retina
        starts = np.stack([rng.integers(0, image.shape[0] - ry + 1, n_tasks),
                           rng.integers(0, image.shape[1] - rx + 1, n_tasks)], axis=1)
        fb = run_fovea_batch(net, fovea, image, starts.reshape(n_tasks, 2), max_steps)
        assert len(fb) == n_tasks
        for k in range(n_tasks):
            runs_equal(fb[k], run_fovea(net, fovea, image, (int(starts[k, 0]),
                                                            int(starts[k, 1])), max_steps))


@settings(max_examples=150)
@given(**net_params, n_changes=st.integers(1, 3), fovea_run=st.booleans())
def test_changing_weights_the_run_did_not_read_changes_nothing(
    seed: int, n_in: int, sizes: list[int], density: float, max_steps: int, n_changes: int,
    fovea_run: bool,
) -> None:
    """PowerPlay's dependency tracking: a weight whose source never fired (this covers every
    non-zero unused connection) or whose target is an input cannot change the run."""
    rng = np.random.default_rng(seed)
    net = random_net(rng, n_in, sizes, density)
    if fovea_run and n_in:
        fovea, image, start = random_fovea(rng, net, n_in)

        def go(m: SlimNet) -> Run:
            return run_fovea(m, fovea, image, start, max_steps)
    else:
        pattern = random_pattern(rng, n_in)

        def go(m: SlimNet) -> Run:
            return run(m, pattern, max_steps)
    before = go(net)
    free = ~before.considered[:, None] | (net.group < 0)[None, :]
    unused_nonzero = (net.W != 0) & ~before.used
    assert (free | ~unused_nonzero).all()  # every unused non-zero weight is free
    edges = np.argwhere(free)
    if not edges.size:
        return
    changed = net.copy()
    for j, i in edges[rng.choice(len(edges), min(n_changes, len(edges)), replace=False)]:
        changed.W[j, i] = rng.choice([0.0, *WEIGHTS.tolist(), float(rng.normal())])
    runs_equal(before, go(changed))
    pairs = [(int(j), int(i)) for j, i in edges]
    assert net.affected_tasks(before.considered[None], pairs).size == 0


def chain() -> SlimNet:
    """input 0 -> unit 3 (group 1) -> halt 2; units 4 (group 1), 5, 6 (group 2) unconnected."""
    net = SlimNet.zeros(2, [2, 2])
    net.W[0, 3] = 1.0
    net.W[3, 2] = 1.0
    return net


def test_a_chain_by_hand() -> None:
    net = chain()
    assert net.group.tolist() == [-1, -1, 0, 1, 1, 2, 2] and net.halt == 2
    r = run(net, [1, 0], 10)
    assert (r.halted, r.steps) == (True, 2)
    assert r.used_edges().tolist() == [[0, 3], [3, 2]]
    assert np.flatnonzero(r.considered).tolist() == [0, 3]  # the halt unit's out-edges unread
    assert net.winners(r.state).tolist() == [2, 3, -1]
    r = run(net, [0, 1], 10)  # nothing reaches the net: no halt, all steps spent
    assert (r.halted, r.steps, r.used.any()) == (False, 10, False)
    r = run(net, [1, 0], 1)
    assert (r.halted, r.steps) == (False, 1)
    assert net.winners(r.state).tolist() == [-1, 3, -1]
    assert run(net, [1, 0], 0).steps == 0


def test_winner_take_all_ties_and_thresholds() -> None:
    net = chain()
    net.W[0, 4] = 1.0  # unit 4 ties with unit 3: the lower index wins
    assert run(net, [1, 0], 10).used_edges().tolist() == [[0, 3], [0, 4], [3, 2]]
    net.W[0, 4] = 1.5  # now unit 4 wins, and it has no way on to the halt unit
    assert not run(net, [1, 0], 10).halted
    net.W[0, 4] = 1.0
    assert net.theta is not None
    net.theta[3] = 1.0  # net input must exceed the threshold, so 3 cannot fire; 4 can
    r = run(net, [1, 0], 3)
    assert net.winners(r.state).tolist() == [-1, 4, -1] and not r.halted
    net.theta[5] = -1.0  # a negative threshold alone does not make an unreached unit fire
    assert run(net, [1, 0], 3).state[5] == 0.0


def test_a_new_connection_needs_the_source_rule() -> None:
    """Creating a connection (0 -> non-zero) from a fired unit can change a run that never used
    it; affected_tasks catches such tasks, the used-connection list alone would not."""
    net = chain()
    b = run_batch(net, [[1, 0], [0, 1]], 10)
    assert not b.used[:, 0, 2].any()
    assert net.affected_tasks(b.considered, [(0, 2)]).tolist() == [0]
    assert net.affected_tasks(b.considered, [(1, 3)]).tolist() == [1]
    assert net.affected_tasks(b.considered, [(3, 0)]).tolist() == []  # into an input: ignored
    net.W[0, 2] = 1.0
    assert run(net, [1, 0], 10).steps == 1


def test_fovea_moves_and_clamps() -> None:
    # one input (1x1 retina); input -> "right" motor unit 3 which keeps itself on; 3 -> halt
    # only when the retina sees a bright pixel: unit 3 also feeds unit 2 below threshold,
    # the input pushes it over
    net = SlimNet.zeros(1, [2])  # units: 0 input, 1 halt, 2-3 group 1
    net.W[0, 2] = 1.0
    net.W[2, 2] = 1.0  # 2 keeps winning
    net.W[2, 1] = 0.6
    net.W[0, 1] = 0.6
    assert net.theta is not None
    net.theta[1] = 1.0
    image = np.array([[0.5, 0.0, 0.0, 0.0, 1.0]])
    fovea = Fovea((1, 1), (2,), ((0, 1),))
    r = run_fovea(net, fovea, image, (0, 0), 20)
    assert (r.halted, r.fovea) == (True, (0, 4))
    assert r.steps == 5  # moves right in steps 1-4, sees the 1.0 after step 4, halts in step 5
    r = run_fovea(net, Fovea((1, 1), (2,), ((3, 9),)), image, (0, 0), 3)
    assert r.fovea == (0, 4)  # clamped to the image
    compass = Fovea.compass((1, 1), up=2, down=3, left=2, right=3)
    with pytest.raises(ValueError, match="repeat"):
        run_fovea(net, compass, image, (0, 0), 3)


def test_state_dict_round_trip_and_zeros_layout() -> None:
    net = chain()
    again = SlimNet.from_state_dict(net.state_dict())
    runs_equal(run(net, [1, 1], 6), run(again, [1, 1], 6))
    assert net.units_of(2).tolist() == [5, 6] and net.n_groups == 3 and net.n_inputs == 2
    copy = net.copy()
    copy.W[0, 3] = 0.0
    assert net.W[0, 3] == 1.0


def _bad(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(W=np.zeros((3, 3)), group=[-1, 0, 1], inputs=[0], halt=1)
    return base | kw


@pytest.mark.parametrize(("kwargs", "message"), [
    (_bad(W=np.zeros((3, 2))), "square"),
    (_bad(W=np.zeros((0, 0))), "square"),
    (_bad(W=np.full((3, 3), np.nan)), "finite"),
    (_bad(W=np.array([["a"] * 3] * 3)), "real numbers"),
    (_bad(group=[-1, 0]), "shape"),
    (_bad(group=[-1.0, 0.0, 1.0]), "integers"),
    (_bad(group=[-1, -1, 0]), "-1 exactly"),
    (_bad(group=[0, 0, 1]), "-1 exactly"),
    (_bad(inputs=[3]), "unit indices"),
    (_bad(inputs=[0, 0], group=[-1, 0, 1]), "repeat"),
    (_bad(halt=0), "halt"),
    (_bad(halt=5), "halt"),
    (_bad(halt=1.0), "integer"),
    (_bad(theta=[0.0, 0.0]), "shape"),
    (_bad(clamped=[0]), "clamped units"),
    (_bad(clamped=[3]), "clamped must be unit indices"),
    (_bad(clamped=[2]), "-1 exactly"),
    (_bad(theta=[0.0, np.inf, 0.0]), "finite"),
])
def test_bad_nets_raise_one_line(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        SlimNet(**kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("call", "message"), [
    (lambda n: run(n, [1, 0, 0], 5), "pattern must have shape"),
    (lambda n: run(n, [[1, 0]], 5), "pattern must have shape"),
    (lambda n: run(n, [np.nan, 0], 5), "finite"),
    (lambda n: run(n, [1, 0], -1), "max_steps"),
    (lambda n: run(n, [1, 0], 2.5), "max_steps"),
    (lambda n: run(n, [1, 0], True), "max_steps"),
    (lambda n: run_batch(n, [1, 0], 5), "patterns must have shape"),
    (lambda n: run(n, [1, 0], 5, [1.0]), "commands must have shape"),
    (lambda n: run_fovea(n, Fovea((1, 3), (), ()), np.zeros((4, 4)), (0, 0), 5), "retina"),
    (lambda n: run_fovea(n, Fovea((1, 2), (0,), ((0, 1),)), np.zeros((4, 4)), (0, 0), 5),
     "motor_units"),
    (lambda n: run_fovea(n, Fovea((1, 2), (3,), ()), np.zeros((4, 4)), (0, 0), 5), "moves"),
    (lambda n: run_fovea(n, Fovea((1, 2), (), ()), np.zeros((4, 1)), (0, 0), 5), "smaller"),
    (lambda n: run_fovea(n, Fovea((1, 2), (), ()), np.zeros(4), (0, 0), 5), "image"),
    (lambda n: run_fovea(n, Fovea((1, 2), (), ()), np.zeros((4, 4)), (3, 3), 5), "inside"),
    (lambda n: run_fovea(n, Fovea((1, 2), (), ()), np.zeros((4, 4)), (0, 0, 0), 5), "start"),
    (lambda n: run_fovea_batch(n, Fovea((1, 2), (), ()), np.zeros((4, 4)), [0, 0], 5),
     "starts"),
    (lambda n: n.affected_tasks(np.zeros((2, 3), dtype=bool), []), "considered"),
    (lambda n: n.affected_tasks(np.zeros((2, 7), dtype=bool), [(0, 9)]), "edge"),
])
def test_bad_runs_raise_one_line(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        call(chain())
    assert "\n" not in str(err.value)


def test_edited_weights_are_rechecked() -> None:
    net = chain()
    net.W[1, 1] = np.inf
    with pytest.raises(ValueError, match="finite"):
        run(net, [1, 0], 5)
    net = chain()
    net.W = net.W.T  # a replaced, non-contiguous array
    with pytest.raises(ValueError, match="assign into it"):
        run(net, [1, 0], 5)
