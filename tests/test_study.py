"""lt4rec.experiment.study: spec parsing, paired differences by hand, resumable worlds, reports."""

from __future__ import annotations

import json
import math

import pytest

from lt4rec.experiment import study as study_lib
from lt4rec.experiment.study_report import write_study_report


def _spec(tmp_path, **over):
    raw = {"name": "t", "variants": ["single_task", "hard_share", "sparse_weight"], "seeds": 3,
           "reference": "sparse_weight", "rows_per_day": 1000, "days": 4,
           "base_world": {"ctr": 0.15},
           "ladders": {"sparsity": [{"label": "a", "world": {"ctr": 0.41}},
                                    {"label": "b", "world": {}}],
                       "rows": [{"label": "1k"}, {"label": "2k", "rows_per_day": 2000}]}}
    raw.update(over)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(raw))
    return study_lib.load_spec(str(path))


def test_spec_points_share_a_folder_when_their_world_is_the_same(tmp_path):
    spec = _spec(tmp_path)
    keys = {(p.ladder, p.label): p.key for p in spec.points}
    assert keys[("sparsity", "b")] == keys[("rows", "1k")]  # base world, same size
    assert len(set(keys.values())) == 3
    assert spec.points[0].world == {"ctr": 0.41}
    assert spec.compare_to == ["single_task", "hard_share"]


def test_spec_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="unknown study key"):
        _spec(tmp_path, typo=1)
    with pytest.raises(ValueError, match=r"\['mmoe'\] are not in variants"):
        _spec(tmp_path, compare_to=["mmoe"])


def test_paired_difference_by_hand():
    # differences 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.3027 -> half width 4.3027/sqrt(3)
    d = study_lib.paired_difference([11.0, 12.0, 13.0], [10.0, 10.0, 10.0])
    half = 4.302652729911275 / math.sqrt(3)
    assert d["mean"] == pytest.approx(2.0)
    assert d["ci95"] == pytest.approx([2.0 - half, 2.0 + half])
    assert d["relative"] == pytest.approx(0.2)
    assert d["p_value"] == pytest.approx(0.0742, abs=5e-4)  # t = 2*sqrt(3), 2 df, two-sided


def _report(values):
    return {"variants": {v: {"seeds": [0, 1, 2],
                             "test": {"cvr_mse": {"values": mse}, "ctr_auc": {"values": auc}}}
                         for v, (mse, auc) in values.items()}}


def test_collect_and_reports_from_finished_worlds(tmp_path):
    spec = _spec(tmp_path)
    report = _report({"single_task": ([0.10, 0.11, 0.12], [0.70, 0.71, 0.72]),
                      "hard_share": ([0.10, 0.101, 0.099], [0.70, 0.705, 0.71]),
                      "sparse_weight": ([0.09, 0.10, 0.113], [0.70, 0.71, 0.72])})
    done = spec.points[0]
    folder = tmp_path / "out" / "worlds" / done.key / "experiment"
    folder.mkdir(parents=True)
    report["diagnostics"] = {"sparse_weight": {
        "gradient_balance": {"grad_norm_ratio": {"mean": 20.0}},
        "mask_sharing": [{"jaccard": {"mean": 0.8}, "jaccard_if_independent": {"mean": 0.2}},
                         {"jaccard": {"mean": 0.6}, "jaccard_if_independent": {"mean": 0.4}}]}}
    (folder / "report.json").write_text(json.dumps(report))
    result = study_lib.collect(spec, str(tmp_path / "out"))
    first, second = result["ladders"]["sparsity"]
    assert first["finished"] and not second["finished"]
    diff = first["reference_minus"]["single_task"]["cvr_mse"]
    assert diff["mean"] == pytest.approx(-0.009) and diff["relative"] == pytest.approx(-0.009 / 0.11)
    transfer = first["minus_single_task"]["hard_share"]["cvr_mse"]
    assert transfer["mean"] == pytest.approx(0.1 - 0.11)
    assert first["mechanism"] == {"sparse_weight": pytest.approx(
        {"grad_norm_ratio": 20.0, "mask_jaccard": 0.7, "mask_jaccard_if_independent": 0.3})}
    pngs = write_study_report(result, str(tmp_path / "out"), "lt4rec study --out out")
    assert len(pngs) == 2 and all((tmp_path / "out" / f"{n}.png").exists()
                                  for n in ("sparsity", "rows"))
    md = (tmp_path / "out" / "study.md").read_text()
    assert "-8.18% (better)" in md and "| a | single_task |" in md
    assert "| a | sparse_weight | 20.0 | 0.70 (independent: 0.30) |" in md


def test_run_world_simulates_once_then_resumes(tmp_path, monkeypatch):
    spec = _spec(tmp_path)
    calls = []

    def fake_run(cmd, log_path):
        calls.append(cmd[3])
        if cmd[3] == "simulate":
            out = cmd[cmd.index("--out") + 1]
            (tmp_path / out).mkdir(parents=True, exist_ok=True)
            (tmp_path / out / "_simulation.json").write_text("{}")

    monkeypatch.setattr(study_lib, "_run", fake_run)
    point = spec.points[0]
    study_lib.run_world(spec, point, str(tmp_path / "out"), say=lambda m: None)
    study_lib.run_world(spec, point, str(tmp_path / "out"), say=lambda m: None)
    assert calls == ["simulate", "experiment", "experiment"]
    world = json.loads((tmp_path / "out" / "worlds" / point.key / "world.json").read_text())
    assert world == {"ctr": 0.41}
