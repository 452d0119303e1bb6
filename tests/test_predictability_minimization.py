"""Predictability minimization (1992, 1996): the factorial-code criterion on hand-made codes,
V_C of the paper's codes F and B, the hand-derived gradients against autograd, the semilinear
delta rule, the Amari index, the 1996 geometry and filter measures, and both quick runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from metahook.experiments import pm_1992, pm_edges
from metahook.harness.runner import run_experiment
from metahook.neural.predictability_minimization import (
    PMNets,
    SemilinearPM,
    amari_index,
    code_report,
    v_c_exact,
)

torch.set_num_threads(1)

P_NONUNIFORM = np.array([1, 2, 2, 4]) / 9.0
CODE_F = np.array([[1, 1], [0, 1], [1, 0], [0, 0]], float)  # the paper's factorial code F
CODE_B = np.array([[0, 1], [0, 0], [1, 0], [1, 1]], float)  # invertible, not factorial


def test_a_factorial_code_passes_the_criterion() -> None:
    uniform = np.full(4, 0.25)
    full = np.array([[0.01, 0.02], [0.97, 0.0], [0.03, 0.99], [1.0, 0.96]])
    rep = code_report(full, uniform)
    assert rep.factorial and rep.binary and rep.invertible and rep.distinct == 4
    assert code_report(CODE_F, P_NONUNIFORM).factorial
    # the Occam experiment: a third unit that stays constant is unused, the code still factorial
    occam = np.hstack([CODE_F, np.full((4, 1), 0.37)])
    rep = code_report(occam, P_NONUNIFORM)
    assert rep.factorial and rep.used_units == 2


def test_non_factorial_codes_fail_the_criterion() -> None:
    uniform = np.full(4, 0.25)
    b = code_report(CODE_B, P_NONUNIFORM)  # invertible and binary, but dependent symbols
    assert b.invertible and b.binary and not b.independent and not b.factorial
    dup = code_report(np.array([[0, 0], [0, 0], [1, 1], [1, 1]], float), uniform)
    assert not dup.invertible and not dup.factorial and dup.distinct == 2
    soft = code_report(np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.9, 1.0]]), uniform)
    assert not soft.binary and not soft.factorial  # 0.9 is more than 0.05 from 1
    # F is factorial only under its own distribution: uniform inputs make it so too, but a
    # code of 16 patterns with 15 distinct words is not invertible
    words = np.array([[int(b) for b in f"{k:04b}"] for k in range(16)], float)
    words[15] = words[14]
    near = code_report(words, np.full(16, 1 / 16))
    assert near.distinct == 15 and not near.factorial


def test_v_c_of_the_papers_codes() -> None:
    """With perfect predictors V_C = 2 for code F and 19/10 for code B over an epoch of 9
    presentations (1992, non-uniform inputs)."""
    counts = np.array([1, 2, 2, 4])
    assert v_c_exact(CODE_F, counts) == pytest.approx(2.0)
    assert v_c_exact(CODE_B, counts) == pytest.approx(1.9)
    assert v_c_exact(np.array([[0, 0], [0, 0], [1, 1], [1, 1]], float), counts) == 0.0


@pytest.mark.parametrize("bad", [
    (np.zeros((4, 2)), np.full(3, 1 / 3)),
    (np.zeros(4), np.full(4, 0.25)),
    (np.zeros((2, 2)), np.array([0.7, 0.7])),
])
def test_the_criterion_rejects_malformed_input(bad: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError):
        code_report(*bad)


@pytest.mark.parametrize(("code_hidden", "pred_hidden", "semilinear", "objective"), [
    (4, 3, False, "v_c"), (0, 0, False, "v_c"), (3, 2, True, "v_c"), (4, 3, False, "variance"),
    (0, 2, True, "variance")])
def test_hand_derived_gradients_are_autograds(code_hidden: int, pred_hidden: int,
                                              semilinear: bool, objective: str) -> None:
    nets = [PMNets(3, 5, 3, code_hidden, pred_hidden, torch.Generator().manual_seed(4),
                   semilinear=semilinear, objective=objective) for _ in range(2)]
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(3, 7, 5, generator=gen, dtype=torch.float64)
    w = torch.rand(7, generator=gen, dtype=torch.float64)
    y = nets[0].codes(x)
    nets[0].predictor_step(y, w, 0.7)
    nets[1].predictor_step_reference(y, w, 0.7)
    nets[0].code_step(x, w, 0.3)
    nets[1].code_step_reference(x, w, 0.3)
    for part in ("code", "pred"):
        a, b = getattr(nets[0], part), getattr(nets[1], part)
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-12)


def test_predictors_learn_and_code_units_escape() -> None:
    """A small predictor step lowers E_P; a small code step raises V_C (predictors fixed); the
    runs of a batch are independent (changing one run leaves the others' steps alone)."""
    net = PMNets(4, 4, 2, 4, 3, torch.Generator().manual_seed(0))
    x = torch.eye(4, dtype=torch.float64)[None].expand(4, -1, -1).contiguous()
    w = torch.ones(4, dtype=torch.float64)

    def v_c() -> torch.Tensor:
        y = net.codes(x)
        return 0.5 * ((net.predictions(y) - y) ** 2).sum((1, 2))

    before = v_c()
    net.predictor_step(net.codes(x), w, 0.05)
    after_p = v_c()
    assert torch.all(after_p < before)
    net.code_step(x, w, 0.05)
    assert torch.all(v_c() > after_p)
    a = PMNets(2, 4, 2, 4, 3, torch.Generator().manual_seed(1))
    b = PMNets(2, 4, 2, 4, 3, torch.Generator().manual_seed(1))
    b.code["W2"][1] += 0.5  # disturb run 1 only
    xa = x[:2]
    for net_ in (a, b):
        net_.offline_epoch(xa, w, 1.0, 0.1, 5)
    torch.testing.assert_close(a.code["W1"][0], b.code["W1"][0])
    torch.testing.assert_close(a.pred["U1"][0], b.pred["U1"][0])
    st = a.state_dict()
    c = PMNets(2, 4, 2, 4, 3, torch.Generator().manual_seed(9))
    c.load_state_dict(st)
    torch.testing.assert_close(c.codes(xa), a.codes(xa))


def test_bad_network_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        PMNets(1, 4, 1, 4, 3, torch.Generator())
    with pytest.raises(ValueError):
        PMNets(1, 4, 2, 4, 3, torch.Generator(), objective="entropy")
    with pytest.raises(ValueError):
        SemilinearPM(1, np.ones((1, 5)), torch.Generator())


def test_semilinear_pm_delta_rule() -> None:
    """Predictors descend (P_i - y_i)^2, the code units ascend it through y_i alone, and code
    weights outside a unit's receptive field stay zero."""
    field = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0]], float)
    net = SemilinearPM(2, field, torch.Generator().manual_seed(0), init=0.5)
    x = torch.rand(2, 1, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    err0 = ((net.predictions(net.codes(x)) - net.codes(x)) ** 2)
    u_before, v_before = net.U.clone(), net.V.clone()
    e = net.step(x, 0.5, 0.0)  # predictors alone
    torch.testing.assert_close(e, err0.sum(1))
    y = net.codes(x)
    assert torch.all(((net.predictions(y) - y) ** 2) <= err0 + 1e-15)
    torch.testing.assert_close(net.V, v_before)
    net.U = u_before
    net.step(x, 0.0, 0.5)  # code units alone
    assert torch.all(net.V[:, :, :][:, torch.as_tensor(field) == 0] == 0)
    assert not torch.equal(net.V, v_before)


def test_amari_index() -> None:
    rng = np.random.default_rng(0)
    perm = np.eye(4)[[2, 0, 3, 1]] * np.array([3.0, -0.5, 2.0, 1.0])
    assert amari_index(perm) == pytest.approx(0.0)
    assert 0.2 < amari_index(rng.standard_normal((4, 4))) <= 1.0
    assert amari_index(np.ones((3, 3))) == pytest.approx(1.0)
    for bad in (np.ones((2, 3)), np.zeros((3, 3)), np.array([[1.0, np.nan], [0.0, 1.0]])):
        with pytest.raises(ValueError):
            amari_index(bad)


def test_the_1996_geometry() -> None:
    units = pm_edges.lattice(pm_edges.AREA_RADIUS)
    offsets = pm_edges.lattice(pm_edges.FIELD_RADIUS)
    assert offsets.shape == (81, 2)  # "81 evenly distributed input units", 20 px across
    assert np.abs(units).max() <= 32 and np.linalg.norm(units, axis=1).max() <= 32
    centres = pm_edges.field_centres(32)
    assert len({tuple(c) for c in centres}) == 32
    mask = pm_edges.fields(units, centres)
    assert mask.shape == (32, units.shape[0]) and np.all(mask.sum(axis=1) == 81)
    rng = np.random.default_rng(0)
    img = [np.tile(np.arange(200, dtype=np.float32), (150, 1))]  # grey = column index
    pats = pm_edges.sample_patterns(img, units, 50, rng)
    # each pattern is a rotated disc: the spread of the column index over it is the disc's
    assert pats.shape == (50, units.shape[0])
    assert np.all(np.abs(pats.max(axis=1) - pats.min(axis=1) - 64) <= 2)


def test_filter_measures() -> None:
    offsets = pm_edges.lattice(pm_edges.FIELD_RADIUS)
    theta = np.deg2rad(30.0)
    grating = np.cos(2 * np.pi * (offsets @ np.array([np.cos(theta), np.sin(theta)])) / 8.0)
    r = np.linalg.norm(offsets, axis=1)
    dog = np.exp(-r ** 2 / 8.0) - 0.4 * np.exp(-r ** 2 / 50.0)
    t = pm_edges.orientation_tuning(np.stack([grating, dog]), offsets)
    assert t["osi"][0] > 0.5 and abs(t["preferred_deg"][0] - 30.0) < 5.0  # a 20-px aperture
    assert t["osi"][1] < 0.15
    cs = pm_edges.centre_surround(np.stack([dog, -dog]), offsets)
    assert cs[0] > 0 > cs[1]


@pytest.fixture(scope="module")
def quick_1992(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("pm1992") / "quick"
    return run_experiment("pm-1992", out=out, scale="quick", seed=0) | {"_out": out}


def test_pm_1992_quick_finds_factorial_codes(quick_1992: dict[str, Any]) -> None:
    """The smallest rows, all 10 runs each: at least half as many factorial codes as the
    paper's (10/10 and 7/10)."""
    m = quick_1992["metrics"]
    paper = {"uniform_online_2": 10, "nonuniform_2": 7}
    for row in paper:
        assert m[f"factorial_runs_{row}"] >= paper[row] / 2, (row, m[f"factorial_runs_{row}"])
        assert len(m[f"distinct_codes_{row}"]) == 10
    ok, why = pm_1992.EXPERIMENT.smoke(m)
    assert ok, why
    assert (quick_1992["_out"] / "plots" / "factorial_runs.png").exists()


@pytest.fixture(scope="module")
def quick_edges(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("pmedges") / "quick"
    return run_experiment("pm-edges", out=out, scale="quick", seed=0) | {"_out": out}


def test_pm_edges_quick(quick_edges: dict[str, Any]) -> None:
    m = quick_edges["metrics"]
    assert m["code_units"] == 32 and m["field_units"] == 81 and m["input_units"] == 797
    assert len(m["filters_pm"]["osi"]) == 32
    # PM's filters become centre-surround detectors; FastICA's are oriented (quick scale)
    assert m["centre_surround_units_pm"] >= 8 > m["centre_surround_units_fastica"]
    assert m["oriented_fastica"] > m["oriented_pm"]
    assert m["amari_fastica_binary"] < 0.05 and 0 <= m["amari_pm_binary"] <= 1
    ok, why = pm_edges.EXPERIMENT.smoke(m)
    assert ok, why
    for name in ("filters_pm", "filters_fastica", "filters_pca", "orientation_selectivity"):
        assert (quick_edges["_out"] / "plots" / f"{name}.png").exists()


@pytest.mark.parametrize(("name", "sets"), [
    ("pm-1992", ["rows=['uniform_local_3']"]), ("pm-1992", ["runs=0"]),
    ("pm-1992", ["objective='entropy'"]), ("pm-edges", ["batch=0"]),
    ("pm-edges", ["sources=['cauchy']"]), ("pm-edges", ["lr_code=0"])])
def test_bad_configs_are_refused(tmp_path: Path, name: str, sets: list[str]) -> None:
    from metahook.harness.errors import UsageError

    with pytest.raises((UsageError, ValueError)):
        run_experiment(name, out=tmp_path / "x", scale="quick", seed=0, overrides=sets)
    assert not (tmp_path / "x" / "result.json").exists()
