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

    # Resume: a finished run is skipped; a run killed midway (no metrics.json) is redone.
    kept = os.path.join(run_dir(str(out), "single_task", 0), "metrics.json")
    stamp = os.stat(kept).st_mtime_ns
    os.remove(os.path.join(run_dir(str(out), "sparse_weight", 1), "metrics.json"))
    capsys.readouterr()
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "3 already finished" in err and "[1/1] sparse_weight seed 1: done" in err
    assert os.stat(kept).st_mtime_ns == stamp


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
