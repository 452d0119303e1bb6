"""The registries: every experiment and benchmark is found without importing it, and is sound."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from metahook.harness.bench import all_benchmarks, benchmark_names
from metahook.harness.registry import SCALES, all_experiments, experiment_names, get_experiment


def test_source_index_matches_the_registries() -> None:
    assert experiment_names() == sorted(e.name for e in all_experiments())
    assert benchmark_names() == sorted(b.name for b in all_benchmarks())


def test_every_experiment_is_well_formed() -> None:
    for exp in all_experiments():
        assert exp.name and exp.system and exp.paper, exp.name
        for scale in SCALES:
            cfg = exp.config_for(scale)
            assert dataclasses.is_dataclass(cfg)
            check = getattr(cfg, "validate", None)
            if callable(check):
                check()  # the shipped scales are valid
        for key, ref in exp.reference.items():
            assert ref.source, f"{exp.name}.{key} lacks a source"
            if ref.metric and ref.compare and isinstance(ref.value, (int, float)):
                assert ref.unit, f"{exp.name}.{key}: a compared figure needs its unit"
            assert ref.compare in ("~", "<=", ">=", ""), f"{exp.name}.{key}"


def _smoke_cases() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per experiment: quick-scale metrics where its smoke criterion holds, and changes that
    reverse its headline (or break a sanity check, for the smoke-only ones)."""
    from metahook.experiments.oops_common import PROGRAM_TOTALT
    from metahook.experiments.oops_hanoi import PHASE_OFFSET

    pole = {f"{k}_{s}": v for k in ("cosyne", "cosyne_all", "esp", "cmaes")
            for s, v in (("solved", 5), ("runs", 5))}
    oops_1n2n = {f"matches_program_1n2n_n{n}": True for n in (1, 2, 3)} | {
        f"time_steps_1n2n_n{n}": 1000 * n for n in (1, 2, 3)}
    return {
        "powerplay-forth": ({"tasks_total": 12, "tasks_compression": 3, "forgetting": 0,
                             "verified_tasks": 9, "repertoire": 9,
                             "retested_per_acceptance_mean": 0.8,
                             "retested_full_per_acceptance_mean": 3.75},
                            {"forgetting": 1}),
        "powerplay-slim-fovea": ({"tasks_total": 12, "tasks_compression": 2, "forgetting": 0,
                                  "verified_tasks": 10, "repertoire": 10, "moves_max": 1,
                                  "action_sequences_novel": 10, "retested_total": 26,
                                  "retested_full_total": 65},
                                 {"retested_total": 65}),
        "powerplay-slim-patterns": ({"tasks_total": 12, "tasks_compression": 1, "forgetting": 0,
                                     "verified_tasks": 11, "repertoire": 11,
                                     "retested_total": 13, "retested_full_total": 60},
                                    {"forgetting": 1}),
        "chunker-20-lag": ({"runs": 8, "sequences": 800, "runs_solved_within_400": 1,
                            "runs_solved_within_800": 6, "chunker_runs_solved": 6,
                            "rnn_runs_solved": 0, "lstm_runs_solved": 0,
                            "runs_solved_a_alone": 0},
                           {"chunker_runs_solved": 0}),
        "chunker-deep": ({"runs": 4, "lag": 36, "stack_runs_solved": 3, "two_level_runs_solved": 0,
                          "lstm_runs_solved": 0, "top_level_lag": 1.2,
                          "stack_inputs_per_sequence": [37.0, 6.5, 1.2]},
                         {"top_level_lag": 6.5}),
        "meta-gp-parity": ({"success_rate_fixed": 0.5, "success_rate_deap": 0.5},
                           {"success_rate_fixed": 0.0, "success_rate_deap": 0.0}),
        "meta-gp-regression": ({"success_rate_fixed": 0.5, "success_rate_deap": 0.0},
                               {"success_rate_fixed": 0.0}),
        "misfa-streams": ({"seeds": 2, "easiest_first_seeds": 2,
                           "order_matches_difficulty_seeds": 1, "all_learned_seeds": 2,
                           "noise_encoded_seeds": 0, "abstractions_unchanged_seeds": 2},
                          {"noise_encoded_seeds": 1}),
        "ccsa-arm": ({"distinct_skills": 2, "skills_acquired": ["grasp", "topple"],
                      "success_rate": {"grasp": 0.9, "topple": 1.0}},
                     {"distinct_skills": 1, "skills_acquired": ["topple"],
                      "success_rate": {"topple": 1.0}}),
        "pm-1992": ({"factorial_runs_uniform_online_2": 7, "factorial_runs_nonuniform_2": 6},
                    {"factorial_runs_nonuniform_2": 1}),
        "pm-edges": ({"centre_surround_units_pm": 19, "centre_surround_units_random": 1,
                      "oriented_pm": 0, "oriented_fastica": 16, "oriented_pca": 3,
                      "amari_pm_binary": 0.27, "amari_fastica_binary": 0.006},
                     {"centre_surround_units_pm": 2}),
        "toy-counter": ({"final": 900, "mean_increment": 4.5},
                        {"final": 1800, "mean_increment": 9.0}),
        "world-models-takecover": ({"v_loss_first": 270.0, "v_loss_last": 110.0,
                                    "m_heldout_nll_before": 1.3, "m_heldout_nll_after": 0.8,
                                    "m_heldout_done_bce_before": 0.7,
                                    "m_heldout_done_bce_after": 0.03, "actual_mean_best": 200.0,
                                    "best_tau": 1.15, "random_mean": 220.0},
                                   {"m_heldout_nll_after": 1.4}),
        "world-models-carracing": ({"v_loss_first": 845.0, "v_loss_last": 610.0,
                                    "m_heldout_nll_before": 1.34, "m_heldout_nll_after": 1.27,
                                    "full_mean": 26.7, "v_only_mean": 19.7,
                                    "random_mean": 19.4},
                                   {"m_heldout_nll_after": 1.4}),
        "world-model-1990": ({"seeds": 1, "budget": 4000, "model_solved": 0,
                              "model_first_test_mean": 35.0, "model_final_test_mean": 200.0,
                              "cmaes_solved": 0, "cmaes_first_test_mean": 20.0,
                              "cmaes_final_test_mean": 150.0},
                             {"model_final_test_mean": 40.0}),
        "learning-to-think": ({"seeds": 1, "budget": 6000, "think_m_ce_untrained": 1.15,
                               "think_m_ce_last": 0.02, "think_queries_mean": 4000.0,
                               "think_solved": 1, "think_mean_steps_capped": 5000.0,
                               "no_m_solved": 0, "no_m_mean_steps_capped": 6000.0},
                              {"think_m_ce_last": 0.5}),
        "pole-single": (pole | {"runs_per_method": 5, "cosyne_mean_evaluations": 100.0,
                                "cosyne_all_mean_evaluations": 120.0,
                                "esp_mean_evaluations": 900.0},
                        {"cosyne_mean_evaluations": 1000.0}),
        "pole-double": ({"cosyne_all_median_evaluations": 600.0, "esp_median_evaluations": 5000.0,
                         "esp_mean_evaluations": 5200.0, "cmaes_mean_evaluations": 300.0},
                        {"cosyne_all_median_evaluations": 6000.0}),
        "pole-double-nv": ({"runs_per_method": 3, "cosyne_all_solved": 2,
                            "cosyne_all_median_evaluations": 4000.0},
                           {"cosyne_all_solved": 1}),
        "hesp-tmaze": ({"hesp_max_length_solved": 1000}, {"hesp_max_length_solved": 100}),
        "godel-bandit": ({"switches": 1, "false_switches": 0}, {"false_switches": 1}),
        "hsearch-demo": ({"hutter_bound_holds": True, "outputs_correct": True},
                         {"hutter_bound_holds": False}),
        "is-function-approx": ({"last_length_per_function": [{"f1": 100.0}], "no_ssa_trials": 40,
                                "no_ssa_trial_length_last": 5000.0},
                               {"last_length_per_function": [{"f1": 6000.0}]}),
        "ls-maze": ({"ls_found": True, "ls_path_steps": 127, "shortest_path": 127},
                    {"ls_found": False}),
        "ssa-als-transfer": ({"ls_failures": 3, "als@0.1_failures": 0,
                              "als@0.1_speedup_over_ls": 30.0, "ssa_als@0.1_failures": 0,
                              "ssa_als@0.1_speedup_over_ls": 40.0},
                             {"ssa_als@0.1_speedup_over_ls": 0.5}),
        "ssa-doors-keys": ({"trials": [370], "self_modifications": 80.0, "surviving_blocks": 2.5,
                            "trial_length_first": 300_000.0, "smp_no_ssa_trials": [12],
                            "q_lambda_trials": [3], "q_lambda_ssa_trials": [4]},
                           {"self_modifications": 0.0}),
        "oops-1n2n": (oops_1n2n | {"max_n_solved": 3, "solver_solves_1_to_30": True,
                                   "solver_steps_formula_14n_plus_40": True},
                      {"matches_program_1n2n_n2": False}),
        "oops-hanoi": ({"max_n_solved": 1, "solver_optimal_moves": True,
                        "solver_steps_formula": True,
                        "time_steps_hanoi_n1": PROGRAM_TOTALT[("hanoi", 1)] - PHASE_OFFSET},
                       {"time_steps_hanoi_n1": PROGRAM_TOTALT[("hanoi", 1)]}),
        "oops-full": (oops_1n2n | {"max_n_solved": {"1n2n": 3}},
                      {"matches_program_1n2n_n3": False}),
        "meta-lstm-quadratic": ({"cum_online_error_meta_lstm": 7.0,
                                 "cum_online_error_backprop": 16.0,
                                 "mse_meta_lstm_after30": 0.01, "mse_meta_lstm_first10": 0.1},
                                {"cum_online_error_meta_lstm": 20.0}),
        "curiosity-rdia": ({"experiments_checkpoints": [1, 1024, 16384, 32768],
                            "kl_sum_infogain": {"16384": 2.1, "32768": 1.2},
                            "kl_sum_entropy": {"16384": 2.2, "32768": 1.3},
                            "kl_sum_random": {"16384": 4.2, "32768": 3.2},
                            "prediction_error_time_in_s10": 0.16, "random_time_in_s10": 0.02},
                           {"kl_sum_infogain": {"16384": 4.5, "32768": 3.5}}),
        "curiosity-1991": ({"speedup_curious": {"0.5": 1.6, "0.1": 1.9, "0.01": 3.2,
                                                "0.001": 4.8},
                            "det_share_random": 0.10, "det_share_curious": 0.24,
                            "det_share_prediction_error": 0.01},
                           {"speedup_curious": {"0.5": 0.6, "0.1": 0.5, "0.01": 0.4,
                                                "0.001": 0.3}}),
        "curiosity-noisy-tv": ({"headline_variant": "look",
                                "rewards": ["prediction_error", "random"],
                                "reward_at_tv_look_prediction_error": 18.0,
                                "reward_elsewhere_look_prediction_error": 6.0,
                                "model_error_learnable_look_prediction_error": 12.0,
                                "model_error_learnable_look_random": 20.0},
                               {"reward_at_tv_look_prediction_error": 6.0}),
        "curiosity-two-brains": ({"external_reward_curious": 1200.0,
                                  "external_reward_ssa_only": 500.0, "mannwhitney_p": 0.3,
                                  "bets_curious": 6.0e4, "surprise_sum_max_abs_curious": 0.0,
                                  "surprise_abs_ssa_only": 0.0},
                                 {"surprise_sum_max_abs_curious": 2.0}),
        "fwp-assoc-retrieval": ({"test_error_pct_fast_weights_R20": 21.3,
                                 "test_error_pct_lstm_R20": 61.0},
                                {"test_error_pct_fast_weights_R20": 61.0,
                                 "test_error_pct_lstm_R20": 21.3}),
        "fwp-capacity": ({"loss_s1_sum_elu_sum_S20": 0.02, "loss_s1_sum_elu_sum_S150": 0.32},
                         {"loss_s1_sum_elu_sum_S20": 0.32, "loss_s1_sum_elu_sum_S150": 0.02}),
        "srwm-fewshot": ({"chance": 0.2, "acc_after_first_deltanet": 0.26,
                          "acc_after_first_lstm": 0.28, "acc_after_first_srwm": 0.2},
                         {"acc_after_first_deltanet": 0.2}),
        "srwm-fewshot-strokes": ({"chance": 0.2, "acc_srwm_1shot": 0.21, "acc_deltanet_1shot": 0.7,
                                  "acc_lstm_1shot": 0.2},
                                 {"chance": 0.2, "acc_srwm_1shot": 0.21, "acc_deltanet_1shot": 0.3,
                                  "acc_lstm_1shot": 0.2}),
    }


def test_every_experiment_has_a_smoke_criterion_that_can_fail() -> None:
    """Each quick scale's criterion passes on metrics where its headline holds, fails where it is
    reversed, and a missing metric raises KeyError (the report shows that as failed)."""
    cases = _smoke_cases()
    assert sorted(cases) == experiment_names()
    for name, (good, reversed_) in cases.items():
        check = get_experiment(name).smoke
        assert check is not None, f"{name} registers no smoke criterion"
        ok, why = check(dict(good))
        assert ok and why and "\n" not in why, (name, why)
        ok, why = check(good | reversed_)
        assert not ok and why, (name, why)
        with pytest.raises(KeyError):
            check({})
