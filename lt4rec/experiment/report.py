"""report.json and report.md of an experiment (papers' Table 2, offline Table 3, figures).

Reads every finished run under OUT/runs/ (``runner``), so a report can be (re)written at any
time from whatever has finished; runs that are missing are listed in both reports.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from lt4rec.experiment import diagnostics, figures, offline, runner, stats
from lt4rec.schemas import names
from lt4rec.experiment.markdown import render

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
TEST_METRICS = ("cvr_mse", "ctr_auc", "ctcvr_auc", "ctr_logloss")
BASELINES = ("single_task", "hard_share")


def collect_runs(out_dir: str, variants: Sequence[str], seeds: Sequence[int]):
    """(variant -> seed -> metrics.json of finished runs, list of missing "variant/seed_S")."""
    runs: Dict[str, Dict[int, dict]] = {}
    missing: List[str] = []
    for v in variants:
        for s in seeds:
            path = runner.run_dir(out_dir, v, s)
            if runner.is_finished(path):
                runs.setdefault(v, {})[s] = runner.load_run(path)
            else:
                missing.append(f"{v}/seed_{s}")
    return runs, missing


def _variant_summary(seeds: Dict[int, dict]) -> Dict:
    ordered = [seeds[s] for s in sorted(seeds)]
    test = {m: stats.summarize([r["metrics"]["test"][m] for r in ordered]) for m in TEST_METRICS}
    first = ordered[0]["export"]
    export = {task: {k: first[task][k] for k in ("nonzero_params", "dense_params", "flops",
                                                 "dense_flops", "bytes")}
              for task in ("pctr", "pcvr")}
    out = {"seeds": sorted(seeds), "test": test, "export": export,
           "train_examples_per_s": float(np.mean([r["train_examples_per_s"] for r in ordered])),
           "wall_seconds": stats.summarize([r["wall_seconds"] for r in ordered]),
           "validation": {m: stats.summarize([r["metrics"]["validation"][m] for r in ordered])
                          for m in ("cvr_mse", "ctr_auc")}}
    if "mask_search" in ordered[0]:
        out["picked_sparsity"] = {
            task: stats.summarize([r["mask_search"]["tasks"][task]["rounds"][
                r["mask_search"]["tasks"][task]["picked_round"]]["sparsity"] for r in ordered])
            for task in ("ctr", "cvr")}
    return out


def _versus(runs: Dict[str, Dict[int, dict]], baseline: str) -> Dict:
    """Per variant: CVR MSE / CTR AUC differences to ``baseline`` on the common seeds.

    Signs follow the metric (as the papers' Table 2): ``cvr_mse_rel`` > 0 is a CVR MSE that
    went up, i.e. worse; ``*_verdict`` says "better"/"worse"/"same" in words.
    """
    if baseline not in runs:
        return {}
    out = {}
    for v, seeds in runs.items():
        common = sorted(set(seeds) & set(runs[baseline]))
        if not common:
            continue
        mse = [seeds[s]["metrics"]["test"]["cvr_mse"] for s in common]
        base_mse = [runs[baseline][s]["metrics"]["test"]["cvr_mse"] for s in common]
        auc = [seeds[s]["metrics"]["test"]["ctr_auc"] for s in common]
        base_auc = [runs[baseline][s]["metrics"]["test"]["ctr_auc"] for s in common]
        t_mse = stats.paired_test(mse, base_mse) if v != baseline else {
            "p_value": None, "note": "baseline"}
        t_auc = stats.paired_test(auc, base_auc) if v != baseline else {
            "p_value": None, "note": "baseline"}
        out[v] = {"seeds": common,
                  "cvr_mse_abs": float(np.mean(mse) - np.mean(base_mse)),
                  "cvr_mse_rel": float(np.mean(mse) / np.mean(base_mse) - 1.0),
                  "cvr_mse_verdict": stats.verdict(np.mean(mse) - np.mean(base_mse), True),
                  "p_value": t_mse["p_value"], "p_value_note": t_mse.get("note", ""),
                  "ctr_auc_abs": float(np.mean(auc) - np.mean(base_auc)),
                  "ctr_auc_rel": float(np.mean(auc) / np.mean(base_auc) - 1.0),
                  "ctr_auc_verdict": stats.verdict(np.mean(auc) - np.mean(base_auc), False),
                  "ctr_auc_p_value": t_auc["p_value"],
                  "ctr_auc_p_value_note": t_auc.get("note", "")}
    return out


def _resolution(predictions: Dict, runs: Dict) -> Dict:
    """Could the test window separate a 1% CVR MSE difference of each variant vs SingleTask?"""
    out = {}
    if "single_task" not in predictions:
        return out
    base = predictions["single_task"]
    for v, seeds in predictions.items():
        if v == "single_task":
            continue
        common = sorted(set(seeds) & set(base))
        if not common:
            continue

        def sq(p):
            clicked = p[names.CLICK] > 0
            return (p["ratio"][clicked] - p["pcvr"][clicked]) ** 2
        out[v] = stats.mse_difference_resolution([sq(seeds[s]) for s in common],
                                                 [sq(base[s]) for s in common])
    return out


def _tuned_configs(out_dir: str) -> Dict:
    """variant -> the tuned config file its runs used (None: its configured defaults)."""
    path = os.path.join(out_dir, runner.TUNED_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def build_report(out_dir: str, variants: Sequence[str], seeds: Sequence[int], command: str,
                 data_dir: str, ks: Sequence[int] = (1, 3),
                 exponents=(1.0, 1.0, 1.0), notes: Optional[List[str]] = None) -> Dict:
    """The report.json dict (see ``write_reports``)."""
    runs, missing = collect_runs(out_dir, variants, seeds)
    if not runs:
        raise ValueError(f"no finished runs under {os.path.join(out_dir, runner.RUNS_DIR)}")
    data = {}
    data_file = os.path.join(out_dir, runner.DATA_FILE)
    if os.path.isfile(data_file):
        with open(data_file, encoding="utf-8") as fh:
            data = json.load(fh)
    data.setdefault("data_dir", os.path.abspath(data_dir))
    any_run = next(iter(next(iter(runs.values())).values()))
    test_days = any_run["metrics"]["test"]["days"]
    data.setdefault("test_days", test_days)
    predictions = offline.load_predictions(
        {v: {s: runner.run_dir(out_dir, v, s) for s in seeds_} for v, seeds_ in runs.items()})
    diag = diagnostics.diagnostics(runs)
    report = {
        "variants": {v: _variant_summary(runs[v]) for v in variants if v in runs},
        "vs_single_task": _versus(runs, "single_task"),
        "vs_hard_share": _versus(runs, "hard_share"),
        "command": command,
        "data": data,
        "seeds": list(seeds),
        "missing_runs": missing,
        "config_overrides_of_first_run": any_run["config"]["trainer"],
        "cvr_mse_resolution_vs_single_task": _resolution(predictions, runs),
        "offline_table3": offline.offline_table3(data_dir, test_days, predictions, ks,
                                                 tuple(exponents)) if predictions else {},
        "diagnostics": diag,
        "departures_from_papers": {v: d["departures_from_papers"] for v, d in diag.items()
                                   if d["departures_from_papers"]},
        "tuned_configs": _tuned_configs(out_dir),
        "notes": notes or [],
        "written": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return report, runs


def write_reports(out_dir: str, variants: Sequence[str], seeds: Sequence[int], command: str,
                  data_dir: str, ks: Sequence[int] = (1, 3), exponents=(1.0, 1.0, 1.0),
                  notes: Optional[List[str]] = None) -> Dict:
    """Writes OUT/report.json, OUT/report.md and OUT/*.png; returns the report dict."""
    report, runs = build_report(out_dir, variants, seeds, command, data_dir, ks, exponents,
                                notes)
    summary = {v: r["test"] for v, r in report["variants"].items()}
    report["figures"] = [os.path.basename(p)
                         for p in figures.write_figures(runs, summary, out_dir)
                         + figures.write_diagnostics_figures(report["diagnostics"], out_dir)]
    with open(os.path.join(out_dir, REPORT_JSON), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2, default=float)
    with open(os.path.join(out_dir, REPORT_MD), "w", encoding="utf-8") as fh:
        fh.write(render(report))
    return report
