"""Each neural experiment's quick scale, run through the harness, with assertions on its outcome."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from metahook.envs import assoc_retrieval as ar
from metahook.envs import digits_fewshot, functions, key_value
from metahook.experiments.meta_lstm_quadratic import examples_to_fit
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment
from resume_helpers import check_killed_and_resumed


def _quick(name: str, tmp_path: Path, seed: int = 0) -> dict:
    out = tmp_path / f"{name}-s{seed}"
    doc = run_experiment(name, out=out, scale="quick", seed=seed)
    assert doc["status"] == "ok"
    assert list((out / "plots").glob("*.png"))
    return doc["metrics"]


def test_meta_lstm_quadratic_quick_learns_within_the_stream_faster_than_backprop(
        tmp_path: Path) -> None:
    """The headline: with frozen weights the meta-LSTM learns each new function from the stream,
    faster than online backprop at its best learning rate. Quick scale, seeds 0-3: cumulative
    online error 5.8-9.2 against backprop's 15.8-16.6; error after exemplar 30 at 7-19 % of that
    of the first 10 exemplars."""
    m = _quick("meta-lstm-quadratic", tmp_path)
    assert m["meta_lstm_weights"] == 4769  # "about 5000 weights"
    # the headline (the registered smoke criterion): cumulative online error under 0.8 x
    # backprop's, and it learns from the stream in its activations: error after exemplar 30
    # under half that of the first 10
    ok, why = get_experiment("meta-lstm-quadratic").smoke(m)
    assert ok, why
    assert m["mse_meta_lstm_after30"] < 0.15 * m["target_variance"]
    # the ideal learner (least squares on six features) is exact after a handful of exemplars
    assert m["examples_to_fit_least_squares"] is not None
    assert m["examples_to_fit_least_squares"] <= 12
    assert m["cum_online_error_least_squares"] < m["cum_online_error_backprop"]
    # like for like: backprop's rate is chosen on held-out streams, not on the test streams, and
    # the error curve is reported at fixed exemplar counts: at exemplar 30 the frozen net is ahead
    assert m["backprop_lr_chosen_on"].endswith("held-out streams")
    assert set(m["cum_online_error_backprop_by_lr_heldout"]) == {"0.03", "0.3"}
    at30 = m["error_over_variance_at_exemplar"]["30"]
    assert at30["meta_lstm"] < at30["backprop"]
    assert m["examples_to_fit_by_level"]["0.05"]["meta_lstm"] == m["examples_to_fit_meta_lstm"]


def test_fwp_assoc_retrieval_quick_fast_weights_beat_the_lstm(tmp_path: Path) -> None:
    """Ba et al.'s headline at R = 20: the fast-weight net retrieves, the LSTM stays on the plateau
    of guessing among the listed digits (61.7 % error). When the fast-weight net leaves the
    plateau is chaotic (seed, and the CPU's vector width: torch's AVX-512 and AVX2 kernels sum in
    different orders), so the test asks it of two of three seeds. Quick scale, seeds 0-2, test
    error of fast weights / LSTM: AVX2 21.8 / 59.2, 20.8 / 61.0, 5.1 / 61.5; AVX-512 34.5 / 59.2,
    61.2 / 61.0 (still on the plateau), 5.4 / 61.5."""
    passed = []
    for seed in (0, 1, 2):
        m = _quick("fwp-assoc-retrieval", tmp_path, seed)
        # the smoke criterion: fast weights 10 points below the LSTM, and under 50 % (off the
        # plateau; chance is 90 %)
        ok, why = get_experiment("fwp-assoc-retrieval").smoke(m)
        passed.append(ok)
        assert m["test_error_pct_lstm_R20"] > 55.0, why  # the LSTM stays on the plateau
        for key in ("fast_weights_R20", "lstm_R20"):  # early stopping: the best validation is kept
            assert 0 < m[f"best_step_{key}"] <= 2400
            assert m[f"best_val_error_pct_{key}"] <= m[f"last_val_error_pct_{key}"]
    assert sum(passed) >= 2, passed


def test_fwp_capacity_quick_sum_rule_breaks_past_d_dot(tmp_path: Path) -> None:
    """The setting-1 headline: a sum-rule memory holds about d_dot keys. Seeds 0-2: loss 0.018-0.031
    at S = 20, 0.32 at S = 150. (The delta rule's advantage is a setting-2 result, which the quick
    scale skips; at S = 150 in setting 1 both rules fail.)"""
    m = _quick("fwp-capacity", tmp_path)
    # the smoke criterion, d_dot = 64: 20 keys are retrieved (loss < 0.06), 150 are not (loss
    # > 0.15 and > 5 x that at 20)
    ok, why = get_experiment("fwp-capacity").smoke(m)
    assert ok, why


def test_srwm_fewshot_quick_deltanet_above_chance_srwm_smoke_only(tmp_path: Path) -> None:
    """DeltaNet and LSTM classify unseen digit classes above chance after the first presentation
    (seeds 0-2: 0.246-0.263 and 0.255-0.304; chance 0.2; 4,500 test answers, so one standard
    error is 0.006). Smoke only for the SRWM: in 300 steps it is still on its initial plateau
    (0.200 at seed 0, 0.218 and 0.244 at seeds 1 and 2; in the full run it leaves it after about
    2,250 of 3,000 steps), so the paper's claim (SRWM competitive with DeltaNet) is not asserted."""
    m = _quick("srwm-fewshot", tmp_path)
    # the smoke criterion: DeltaNet and LSTM both above chance + 0.03
    ok, why = get_experiment("srwm-fewshot").smoke(m)
    assert ok, why
    # the SRWM was trained and tested like the others
    assert {"acc_first_srwm", "acc_after_first_srwm", "acc_last_srwm"} <= m.keys()


def test_srwm_fewshot_strokes_quick_learns_one_shot_on_unseen_characters(tmp_path: Path) -> None:
    """The paper's protocol (5-way 1-shot, synchronous labels, Conv-4 encoder) on procedural
    characters: after 200 steps the best learner answers queries of unseen classes far above
    chance + 0.15: DeltaNet 0.752 and 0.750 at seeds 0 and 1 (1,000 answers, one standard error
    0.014). The SRWM (0.203, 0.216) and the LSTM (0.190 at seed 0) are still on their plateau."""
    m = _quick("srwm-fewshot-strokes", tmp_path)
    ok, why = get_experiment("srwm-fewshot-strokes").smoke(m)
    assert ok, why
    assert {"acc_srwm_1shot", "acc_deltanet_1shot", "acc_lstm_1shot"} <= m.keys()
    assert m["test_answers"] == 1000 and m["train_episodes_per_model"] == 3200


# ------------------------------------------------------------------ task generators
def test_retrieval_sequences_have_the_papers_format() -> None:
    tok, tgt = ar.make_retrieval(500, 4, np.random.default_rng(0))
    assert tok.shape == (500, 11) and tok.max() < ar.VOCAB
    for t, y in zip(tok[:50], tgt[:50], strict=True):
        s = ar.decode(t)
        assert s[8:10] == "??" and s[-1] in s[0:8:2] and len(set(s[0:8:2])) == 4
        assert ar.retrieve(t) == y
    assert ar.retrieve(ar.encode("c9k8j3f1??c")) == 9
    with pytest.raises(ValueError, match="not in the vocabulary"):
        ar.encode("C")


def test_mqar_targets_only_at_queries() -> None:
    tok, tgt = ar.make_mqar(20, 4, 6, 16, 16, np.random.default_rng(1))
    assert tok.shape == tgt.shape == (20, 14)
    assert (tgt[:, :8] == ar.IGNORE).all() and (tgt[:, 8:] >= 0).all()
    for t, y in zip(tok, tgt, strict=True):
        pairs = dict(zip(t[0:8:2].tolist(), (t[1:8:2] - 16).tolist(), strict=True))
        assert [pairs[q] for q in t[8:].tolist()] == y[8:].tolist()


@pytest.mark.parametrize("setting", [1, 2])
def test_key_value_targets(setting: int) -> None:
    rng = np.random.default_rng(2)
    keys, values, target = key_value.make(8, 10, setting, rng)
    assert keys.shape == values.shape == (8, 10 * setting)
    for k, v, t in zip(keys, values, target, strict=True):
        last = {}
        for kk, vv in zip(k.tolist(), v.tolist(), strict=True):
            last[kk] = vv
        assert all(t[kk] == vv for kk, vv in last.items())
        assert all(t[kk] == -1 for kk in range(10) if kk not in last)
    if setting == 1:
        assert (np.sort(keys, axis=1) == np.arange(10)).all()
        assert (np.sort(target, axis=1) == np.arange(10)).all()
    q = key_value.sample_queries(target, rng)
    assert (target[np.arange(8), q] >= 0).all()


def test_function_families() -> None:
    rng = np.random.default_rng(3)
    x, y, c = functions.sample("quadratic", 4, 50, rng)
    assert x.shape == (4, 50, 2) and y.shape == (4, 50, 1) and np.abs(x).max() <= 1
    np.testing.assert_allclose(y[..., 0], np.einsum("ntk,nk->nt",
                               functions.quadratic_features(x.astype(np.float64)), c), atol=1e-5)
    xb, yb, table = functions.sample("boolean", 6, 30, rng)
    assert set(np.unique(xb)) <= {-1.0, 1.0} and set(np.unique(yb)) <= {-1.0, 1.0}
    bits = (xb > 0).astype(int)
    expect = (table[:, None] >> (2 * bits[..., 0] + bits[..., 1])) & 1
    assert ((yb[..., 0] > 0) == expect).all()
    with pytest.raises(ValueError, match="unknown function family"):
        functions.sample("cubic", 1, 1, rng)


def test_examples_to_fit() -> None:
    err = np.array([1.0] * 5 + [0.01] * 20)
    assert examples_to_fit(err, 0.1, 3) == 5
    assert examples_to_fit(np.ones(10), 0.1, 3) is None


def test_digit_episodes() -> None:
    X, Y, P, D = digits_fewshot.episodes(5, 5, 3, "test", np.random.default_rng(4))
    assert X.shape == (5, 15, 69) and set(np.unique(D)) <= set(digits_fewshot.TEST_CLASSES)
    for e in range(5):
        assert (np.bincount(Y[e], minlength=5) == 3).all()
        assert (X[e, 0, 64:] == 0).all()
        assert (X[e, 1:, 64:].argmax(-1) == Y[e, :-1]).all()  # the label arrives one step late
        for t in range(15):
            assert P[e, t] == (Y[e, :t] == Y[e, t]).sum()
        m = {}
        for d, y in zip(D[e], Y[e], strict=True):  # one label per digit class in an episode
            assert m.setdefault(d, y) == y
    Xp, *_ = digits_fewshot.episodes(2, 5, 3, "train", np.random.default_rng(4), project=True)
    assert np.isfinite(Xp).all()
    with pytest.raises(ValueError, match="unknown split"):
        digits_fewshot.episodes(1, 5, 2, "val", np.random.default_rng(0))


@pytest.mark.parametrize("name,overrides,stop_at", [
    ("meta-lstm-quadratic", ["steps=30", "eval_every=10", "eval_tasks=40", "bp_lrs=0.1"], 17),
    ("fwp-assoc-retrieval", ["steps=30", "eval_every=10", "n_train=500", "n_val=100",
                             "n_test=100", "models=fast_weights,lstm"], 41),
    ("fwp-capacity", ["sizes=20", "max_steps=30", "eval_every=10"], 1.5),
    ("srwm-fewshot", ["steps=12", "eval_every=4", "test_episodes=20"], 20),
    ("srwm-fewshot-strokes", ["steps=8", "eval_every=4", "test_episodes=10", "models=deltanet",
                              "k_shots=1,2"], 10),
])
def test_killed_and_resumed_run_ends_like_an_uninterrupted_one(
    name: str, overrides: list[str], stop_at: float, tmp_path: Path
) -> None:
    check_killed_and_resumed(name, overrides, stop_at, tmp_path)


@pytest.mark.parametrize("name,override,message", [
    ("meta-lstm-quadratic", "family=cubic", "family"),
    ("fwp-assoc-retrieval", "models=gru", "unknown models"),
    ("fwp-assoc-retrieval", "dropout=1.0", "dropout"),
    ("fwp-assoc-retrieval", "weight_decay=-0.1", "weight_decay"),
    ("meta-lstm-quadratic", "fit_levels=0.05,1.5", "fit_levels"),
    ("fwp-capacity", "phis=rbf", "unknown phis"),
    ("srwm-fewshot", "device=tpu", "unknown device"),
])
def test_bad_config_is_a_usage_error(name: str, override: str, message: str,
                                     tmp_path: Path) -> None:
    from metahook.harness.errors import UsageError

    with pytest.raises(UsageError, match=message):
        run_experiment(name, out=tmp_path / "x", scale="quick", overrides=[override])
    assert not (tmp_path / "x").exists()


def test_fwp_assoc_retrieval_regularised_lstm_trains_differently(tmp_path: Path) -> None:
    """Weight decay (AdamW) and dropout, the regularisation a user tries against the LSTM's
    overfitting, reach the training: the same tiny run with them follows another loss curve."""
    base = ["models=lstm", "hidden_sizes=20", "steps=40", "eval_every=20", "n_train=500",
            "n_val=200", "n_test=200"]

    def losses(name: str, extra: list[str]) -> list[float]:
        run_experiment("fwp-assoc-retrieval", out=tmp_path / name, scale="quick", seed=0,
                       overrides=[*base, *extra])
        lines = (tmp_path / name / "metrics.jsonl").read_text().splitlines()
        return [json.loads(line)["loss"] for line in lines]

    plain = losses("plain", [])
    assert len(plain) == 2
    assert losses("decay", ["weight_decay=0.5"]) != plain
    assert losses("dropout", ["dropout=0.5"]) != plain


@pytest.mark.parametrize("kind", ["srwm", "deltanet", "lstm"])
def test_fewshot_learners_build_in_both_block_arrangements(kind: str) -> None:
    """block=paper: the SRWM has no input projection and adds its output to the normalised
    stream, DeltaNet and FF are pre-LN; post_ln keeps the first arrangement. Both train."""
    from metahook.experiments import srwm_fewshot as sf

    outs = {}
    for block in ("post_ln", "paper"):
        cfg = sf.Config(dataset="strokes", d_model=16, n_heads=2, layers=1, conv_channels=4,
                        block=block)
        torch.manual_seed(0)
        model = sf.ImageLearner(kind, cfg)
        images = torch.rand(2, 6, 28, 28)
        shown = torch.tensor([[0, 1, 2, 3, 4, -1]] * 2)
        out = model(images, shown)
        assert out.shape == (2, 6, 5) and torch.isfinite(out).all()
        out.sum().backward()
        outs[block] = out.detach()
        if kind == "srwm":
            has_inp = any("core.inp" in n for n, _ in model.named_parameters())
            assert has_inp == (block == "post_ln")
    if kind == "lstm":  # the arrangement concerns the fast-weight blocks only
        torch.testing.assert_close(outs["post_ln"], outs["paper"])
    with pytest.raises(ValueError, match="unknown block"):
        sf.Config(block="pre").validate()
