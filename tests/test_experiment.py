"""`lt4rec experiment`: runs every variant x seed, resumes, and writes Table 2/3 reports."""

import json
import math
import os

import numpy as np
import pytest

from conftest import TINY_OVERRIDES
from lt4rec.experiment import offline, stats
from lt4rec.experiment.runner import run_dir


# --- statistics ------------------------------------------------------------------------------

def test_paired_test_matches_hand_computed_t():
    # differences 1, 2, 3: t = 2 / (1 / sqrt(3)) = 3.464 with 2 df -> two-sided p = 0.0742
    assert stats.paired_test([1, 2, 3], [0, 0, 0])["p_value"] == pytest.approx(0.0742, abs=1e-4)


def test_paired_test_is_undefined_for_one_seed_or_constant_differences():
    assert stats.paired_test([0.1], [0.2])["p_value"] is None
    assert "fewer than 2 seeds" in stats.paired_test([0.1], [0.2])["note"]
    assert stats.paired_test([1.0, 2.0], [0.5, 1.5])["p_value"] is None


def test_summarize_uses_sample_std():
    s = stats.summarize([1.0, 3.0])
    assert (s["mean"], s["std"], s["n"]) == (2.0, pytest.approx(math.sqrt(2)), 2)
    assert stats.summarize([1.0])["std"] is None


def test_resolution_of_a_one_percent_difference():
    # b: squared errors all 0.1 (MSE 0.1, 1% = 0.001); a differs by +-0.01 per row: row SE
    # = 0.01 / sqrt(n) (ddof 1 of alternating +-0.01 over 400 rows ~ 0.01), one seed.
    b = [np.full(400, 0.1)]
    a = [0.1 + 0.01 * np.tile([1.0, -1.0], 200)]
    r = stats.mse_difference_resolution(a, b)
    assert r["target"] == pytest.approx(0.001)
    assert r["row_se"] == pytest.approx(0.01 * math.sqrt(400 / 399) / 20)
    assert r["seed_se"] is None and r["detectable"]  # 1.96 * 0.0005 < 0.001
    assert r["clicked_rows_needed"] == math.ceil(400 * (1.96 * r["row_se"] / 0.001) ** 2)
    assert not stats.mse_difference_resolution([a[0][:16]], [b[0][:16]])["detectable"]


# --- offline ranking (Table 3) -----------------------------------------------------------------

def test_top_k_value_sums_the_highest_scored_rows_of_each_request():
    groups = [np.array([0, 1, 2]), np.array([3, 4])]
    score = np.array([0.1, 0.9, 0.5, 0.2, 0.3])
    value = np.array([10.0, 1.0, 5.0, 7.0, 2.0])
    assert list(offline.top_k_value(groups, score, value, 1)) == [1.0, 2.0]
    assert list(offline.top_k_value(groups, score, value, 2)) == [6.0, 9.0]


def test_rank_score_exponents_weigh_ctr_cvr_and_length():
    pctr, pcvr, length = np.array([0.9, 0.1]), np.array([0.1, 0.9]), np.array([10.0, 100.0])
    assert np.argmax(offline.rank_score(pctr, pcvr, length, (1, 0, 0))) == 0
    assert np.argmax(offline.rank_score(pctr, pcvr, length, (0, 1, 0))) == 1
    both = offline.rank_score(pctr, pcvr, length, (1, 1, 1))
    assert both == pytest.approx(np.log([0.9 * 0.1 * 10, 0.1 * 0.9 * 100]))


def test_requests_are_user_day_hour_groups_of_at_least_two():
    from lt4rec.schemas import names
    rows = {"_day": np.array(["d1", "d1", "d1", "d2", "d1"]),
            names.USER_ID: np.array([1, 1, 2, 1, 1]),
            names.HOUR_OF_DAY: np.array([5, 5, 5, 5, 6])}
    assert [list(g) for g in offline.requests(rows)] == [[0, 1]]


# --- the runner end to end ---------------------------------------------------------------------

@pytest.mark.e2e
def test_experiment_writes_report_keys_and_plots_and_resumes(tiny_logs, tmp_path, capsys):
    from lt4rec import cli

    out = tmp_path / "exp"
    config = tmp_path / "tiny.json"
    overrides = {k: dict(v) for k, v in TINY_OVERRIDES.items()}
    overrides["pruning"]["rounds"] = 2
    config.write_text(json.dumps(overrides))
    args = ["experiment", "--data", str(tiny_logs), "--variants", "single_task,sparse_weight",
            "--seeds", "2", "--out", str(out), "--config", str(config), "--quiet",
            "--top-k", "1"]
    assert cli.main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report) >= {"variants", "vs_single_task", "command", "data"}
    for name in ("single_task", "sparse_weight"):
        v = report["variants"][name]
        for metric in ("cvr_mse", "ctr_auc", "ctcvr_auc"):
            s = v["test"][metric]
            assert set(s) >= {"mean", "std"} and len(s["values"]) == 2
            assert all(0.0 <= x <= 1.0 for x in s["values"]) and s["std"] >= 0.0
        for task in ("pctr", "pcvr"):
            e = v["export"][task]
            assert set(e) >= {"nonzero_params", "dense_params", "flops", "bytes"}
            assert 0 < e["nonzero_params"] <= e["dense_params"] and e["bytes"] > 0
        assert v["train_examples_per_s"] > 0
    sw = report["vs_single_task"]["sparse_weight"]
    assert math.isfinite(sw["cvr_mse_rel"]) and 0.0 <= sw["p_value"] <= 1.0
    assert report["missing_runs"] == []
    t3 = report["offline_table3"]["pairings"]["ConnectionShare x ConnectionShare"]["top_k"]["1"]
    oracle = report["offline_table3"]["reference"]["1"]["oracle"]
    assert 0.0 <= t3["mean_view_s"] <= oracle + 1e-9
    for fig in ("training_curves.png", "test_metrics.png", "fig4_pruning_sparse_weight.png",
                "fig3_mask_overlap_sparse_weight.png"):
        assert fig in report["figures"] and (out / fig).read_bytes()[:4] == b"\x89PNG"
    md = (out / "report.md").read_text()
    assert "| SingleTask | 2 |" in md and "ConnectionShare (sparse_weight)" in md
    diag = report["diagnostics"]["sparse_weight"]
    assert diag["departures_from_papers"] == [] and report["departures_from_papers"] == {}
    for layer in diag["mask_sharing"]:
        assert len(layer["jaccard"]["values"]) == 2 and 0.0 <= layer["jaccard"]["mean"] <= 1.0
    for task in ("ctr", "cvr"):
        assert len(diag["round_movement"][task]) == 2             # two rounds per task
        assert all(r["snet"]["mean"] > 0 for r in diag["round_movement"][task])
        assert len(diag["rounds"][task]["picks"]) == 2
    for name in ("sparse_weight", "single_task"):
        balance = report["diagnostics"][name].get("gradient_balance")
        if name == "single_task":
            assert balance is None                      # nothing shared
        else:
            assert balance["steps_ratio"]["mean"] > 1   # CTR trains on every row, CVR on clicks
    assert "## Diagnostics" in md and "within noise" in md
    for fig in ("sharing_sparse_weight.png", "gradient_balance.png"):
        assert fig in report["figures"] and (out / fig).read_bytes()[:4] == b"\x89PNG"

    # Resume: a finished run is skipped; a run killed midway (no metrics.json) is redone.
    kept = os.path.join(run_dir(str(out), "single_task", 0), "metrics.json")
    stamp = os.stat(kept).st_mtime_ns
    os.remove(os.path.join(run_dir(str(out), "sparse_weight", 1), "metrics.json"))
    capsys.readouterr()
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "3 already finished" in err and "[1/1] sparse_weight seed 1: done" in err
    assert os.stat(kept).st_mtime_ns == stamp

    # A new line-up on the same folder (one seed): PLE and the tuned preset, beside a finished
    # run (hard_share and mmoe train in test_train and export in test_export; two runs fewer
    # here keep `make test` in its budget).
    lineup = "single_task,sparse_weight_tuned,ple"
    assert cli.main(args[:4] + [lineup, "--seeds", "1"] + args[7:]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["variants"]) == set(lineup.split(","))
    # Only departing variants are listed; the tuned preset keeps the papers' magnitude.
    assert "sparse_weight_tuned" not in report["departures_from_papers"]
    assert "S-Weight tuned (sparse_weight_tuned)" in (out / "report.md").read_text()


def test_unknown_variant_fails_before_loading_data(tmp_path):
    from lt4rec import cli
    assert cli.main(["experiment", "--data", str(tmp_path / "nowhere"), "--variants",
                     "single_task,sparse_wieght", "--out", str(tmp_path / "o")]) == 2


# --- report sign convention (papers' Table 2) ------------------------------------------------

def test_a_cvr_mse_that_went_up_reads_plus_worse_and_an_auc_drop_reads_minus_worse():
    from lt4rec.experiment.markdown import change
    # MSE 0.1000 -> 0.1025: +0.0025 absolute, +2.50%, worse (not a negative "gain").
    assert change(0.0025, 0.025, lower_is_better=True, digits=4) == "+0.0025 (+2.50%, worse)"
    assert change(-0.0025, -0.025, lower_is_better=True, digits=4) == "-0.0025 (-2.50%, better)"
    assert change(-0.004, -0.005, lower_is_better=False, digits=3) == "-0.004 (-0.50%, worse)"
    assert change(0.0, 0.0, lower_is_better=True, digits=2) == "+0.00 (+0.00%, same)"
    assert stats.verdict(0.01, lower_is_better=False) == "better"


def test_table2_row_shows_a_worse_cvr_mse_with_a_plus_sign():
    from lt4rec.experiment.markdown import table2
    summary = {"mean": 0.1, "std": None, "values": [0.1], "n": 1}
    export = {"flops": 10, "dense_flops": 10}
    variant = {"seeds": [0], "test": {"cvr_mse": summary, "ctr_auc": summary,
                                      "ctcvr_auc": summary},
               "export": {"pctr": export, "pcvr": export}, "train_examples_per_s": 1.0}
    vs = {"cvr_mse_abs": 0.002, "cvr_mse_rel": 0.02, "p_value": None, "p_value_note": "x",
          "ctr_auc_abs": 0.001, "ctr_auc_rel": 0.0014}
    row = table2({"variants": {"mmoe": variant}, "vs_single_task": {"mmoe": vs}})[-1]
    assert "+0.00200 (+2.00%, worse)" in row and "+0.0010 (+0.14%, better)" in row


# --- diagnostics (issue 12) ---------------------------------------------------------------------

def test_layer_sharing_fractions_by_hand():
    from lt4rec.experiment.diagnostics import layer_sharing
    # 10 entries: both keep 3, CTR alone 1, CVR alone 2 -> union 6, Jaccard 0.5
    row = {"shared": 3, "ctr_only": 1, "cvr_only": 2, "kept_ctr": 4, "kept_cvr": 5,
           "entries": 10}
    s = layer_sharing(row)
    assert s["jaccard"] == 0.5
    assert s["overlap_coefficient"] == 0.75                           # 3 / min(4, 5)
    assert s["jaccard_if_independent"] == pytest.approx(0.2 / 0.7)    # .4*.5 / (.4+.5-.2)
    assert (s["ctr_shared_of_kept"], s["ctr_only_of_kept"]) == (0.75, 0.25)
    assert (s["cvr_shared_of_kept"], s["cvr_only_of_kept"]) == (0.6, 0.4)


def test_pick_within_noise_compares_the_advantage_with_the_seed_spread():
    from lt4rec.experiment.diagnostics import pick_noise
    # MSE (lower better). Round 1 scores 0.100 and 0.104 over two seeds: std 0.002828.
    # Seed 0 picks round 1: advantage over round 0 = 0.101 - 0.100 = +0.001 < spread -> noise.
    # Seed 1 picks round 0: reference = best other round (round 1, 0.104); lower is better, so
    # advantage = -(0.110 - 0.104) = -0.006, below round 0's spread (0.00636): noise.
    out = pick_noise([[0.101, 0.100], [0.110, 0.104]], [1, 0], False, [0, 1])
    p0, p1 = out["picks"]
    assert p0["reference_round"] == 0 and p0["advantage"] == pytest.approx(0.001)
    assert p0["seed_spread"] == pytest.approx(np.std([0.100, 0.104], ddof=1))
    assert p0["within_noise"] is True
    assert p1["reference_round"] == 1 and p1["advantage"] == pytest.approx(-0.006)
    assert p1["within_noise"] is True and out["within_noise"] == 2
    # a clear win: seed spread tiny, advantage large
    clear = pick_noise([[0.200, 0.100], [0.201, 0.1001]], [1, 1], False, [0, 1])
    assert clear["within_noise"] == 0 and clear["picks"][0]["advantage"] == pytest.approx(0.1)
    # one seed: no spread, undefined
    assert pick_noise([[0.2, 0.1]], [1], False, [0])["picks"][0]["within_noise"] is None


def test_gradient_balance_ratios_by_hand():
    from lt4rec.experiment.diagnostics import gradient_balance
    run = {"shared_gradients": {
        "ctr": {"steps": 20, "grad_norm_sum": 10.0, "learning_rate_sum": 0.01},
        "cvr": {"steps": 1, "grad_norm_sum": 2.0, "learning_rate_sum": 0.001}}}
    b = gradient_balance([run])
    assert b["steps_ratio"]["mean"] == 20.0 and b["grad_norm_ratio"]["mean"] == 5.0
    assert b["learning_rate_ratio"]["mean"] == pytest.approx(10.0)
    assert (b["ctr_mean_norm"]["mean"], b["cvr_mean_norm"]["mean"]) == (0.5, 2.0)
    assert gradient_balance([{"shared_gradients": {"joint": {}}}]) is None
    nothing_shared = {t: {"steps": 3, "grad_norm_sum": 0.0, "learning_rate_sum": 0.1}
                      for t in ("ctr", "cvr")}
    assert gradient_balance([{"shared_gradients": nothing_shared}]) is None


def test_round_overlap_summarizes_seeds_next_to_independent_masks():
    from lt4rec.experiment.diagnostics import round_overlap
    runs = [{"mask_search": {"round_overlap": [{"round": 0, "sparsity": 0.0, "jaccard": 1.0},
                                               {"round": 1, "sparsity": 0.5, "jaccard": j}]}}
            for j in (0.8, 0.6)]
    r0, r1 = round_overlap(runs)
    assert r0["jaccard_if_independent"] == 1.0
    assert r1["jaccard"]["mean"] == pytest.approx(0.7)
    assert r1["jaccard_if_independent"] == pytest.approx(0.5 / 1.5)   # keep 0.5 each
    assert round_overlap([{"mask_search": {}}]) == []                 # older runs
