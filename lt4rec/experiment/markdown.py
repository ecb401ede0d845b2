"""report.md: the report.json of an experiment rendered as the papers' tables."""

from __future__ import annotations

from typing import Dict, List, Optional

from lt4rec.experiment.markdown_diagnostics import render_diagnostics
from lt4rec.experiment.stats import fmt_mean_std, verdict

NAMES = {"single_task": "SingleTask", "hard_share": "LayerShare (hard_share)",
         "sparse_weight": "ConnectionShare (sparse_weight)",
         "sparse_neuron": "NeuronShare (sparse_neuron)", "mmoe": "MMoE", "esmm": "ESMM",
         "shared_mlp": "shared sNET (shared_mlp)", "ple": "PLE",
         "sparse_weight_balance": "S-Weight-taskbalance (sparse_weight_balance)",
         "sparse_weight_conflict": "S-Weight-gradientconflict (sparse_weight_conflict)",
         "sparse_weight_multiview": "S-Weight-multiview (sparse_weight_multiview)",
         "sparse_weight_big": "S-Weight-biggernet (sparse_weight_big)",
         "sparse_weight_tuning": "S-Weight-tuning (sparse_weight_tuning)",
         "sparse_weight_tuned": "S-Weight tuned (sparse_weight_tuned)"}


def _p(value: Optional[float], note: str = "") -> str:
    """A p value, '–' for the baseline itself, 'undefined (why)' when it has none."""
    if value is not None:
        return f"{value:.3f}"
    if note == "baseline":
        return "–"
    return "undefined" + (f" ({note})" if note else "")


def _signed(x: Optional[float], digits: int, pct: bool = False) -> str:
    if x is None:
        return "–"
    return f"{100 * x:+.2f}%" if pct else f"{x:+.{digits}f}"


def change(abs_diff: float, rel_diff: float, lower_is_better: bool, digits: int) -> str:
    """A difference to the baseline as the papers' Table 2 reads it: sign = direction of the
    metric itself, with a verdict.

    Args:
      abs_diff: variant − baseline; rel_diff: variant / baseline − 1.
      lower_is_better: True for MSE-like metrics (a rise is worse), False for AUC.
    Returns:
      e.g. ``"+0.00120 (+1.25%, worse)"`` for an MSE that went up, ``"-0.0040 (-0.52%, worse)"``
      for an AUC that went down, ``"+0.00000 (+0.00%, same)"`` for no change.
    """
    return (f"{abs_diff:+.{digits}f} ({100 * rel_diff:+.2f}%, "
            f"{verdict(abs_diff, lower_is_better)})")


def table2(report: Dict) -> List[str]:
    vs_st, vs_hs = report["vs_single_task"], report.get("vs_hard_share", {})
    departing, dagger = report.get("departures_from_papers") or {}, " †"
    lines = [
        "| variant | seeds | test CVR MSE | CVR MSE change vs SingleTask (abs, %) | p vs "
        "SingleTask | p vs LayerShare | test CTR AUC | CTR AUC change vs SingleTask (abs, %) "
        "| p (AUC) vs "
        "SingleTask | CTCVR AUC | pCTR FLOPs nonzero/dense | pCVR FLOPs nonzero/dense | "
        "picked sparsity CTR/CVR | train ex/s |",
        "|---" * 14 + "|"]
    for v, r in report["variants"].items():
        st = vs_st.get(v, {})
        hs = vs_hs.get(v, {})
        mse_gain = change(st["cvr_mse_abs"], st["cvr_mse_rel"], True, 5) if st else "–"
        auc_gain = change(st["ctr_auc_abs"], st["ctr_auc_rel"], False, 4) if st else "–"
        auc_p = _p(st.get("ctr_auc_p_value"), st.get("ctr_auc_p_value_note", "")) if st else "–"
        ex = r["export"]
        picked = r.get("picked_sparsity")
        picked_text = (f"{picked['ctr']['mean']:.2f}/{picked['cvr']['mean']:.2f}"
                       if picked else "–")
        lines.append(
            f"| {NAMES.get(v, v)}{dagger if v in departing else ''} | {len(r['seeds'])} | {fmt_mean_std(r['test']['cvr_mse'], 5)} "
            f"| {mse_gain if v != 'single_task' else '0'} "
            f"| {_p(st.get('p_value'), st.get('p_value_note', '')) if st else '–'} "
            f"| {_p(hs.get('p_value'), hs.get('p_value_note', '')) if hs else '–'} "
            f"| {fmt_mean_std(r['test']['ctr_auc'], 4)} "
            f"| {auc_gain if v != 'single_task' else '0'} "
            f"| {auc_p} "
            f"| {fmt_mean_std(r['test']['ctcvr_auc'], 4)} "
            f"| {ex['pctr']['flops']:,}/{ex['pctr']['dense_flops']:,} "
            f"| {ex['pcvr']['flops']:,}/{ex['pcvr']['dense_flops']:,} | {picked_text} "
            f"| {r['train_examples_per_s']:,.0f} |")
    return lines


def table3(t3: Dict) -> List[str]:
    if not t3:
        return ["(no test predictions: offline ranking not computed)"]
    ks = list(t3["requests"])
    head = "| pCTR model × pCVR model | seeds | " + " | ".join(
        f"top-{k} view time s (mean ± std over seeds) | lift vs SingleTask² (± SE)" for k in ks)
    lines = [head + " |", "|---" * (2 + 2 * len(ks)) + "|"]
    for label, e in t3["pairings"].items():
        cells = []
        for k in ks:
            c = e["top_k"][k]
            if c["mean_view_s"] is None:
                cells += ["no requests", "–"]
                continue
            mean = f"{c['mean_view_s']:.3f}"
            if c["std_over_seeds"] is not None:
                mean += f" ± {c['std_over_seeds']:.3f}"
            lift = ("–" if c["lift_vs_baseline"] is None else
                    f"{100 * c['lift_vs_baseline']:+.2f}% ± {100 * c['lift_se']:.2f}%")
            cells += [mean, lift]
        lines.append(f"| {label} ({e['ctr']} × {e['cvr']}) | {len(e['seeds'])} | "
                     + " | ".join(cells) + " |")
    for name in ("random", "oracle"):
        cells = []
        for k in ks:
            v = t3["reference"][k][name]
            cells += ["–" if v is None else f"{v:.3f}", ""]
        lines.append(f"| *{name} order (reference)* | | " + " | ".join(cells) + " |")
    return lines


def resolution(res: Dict) -> List[str]:
    if not res:
        return ["(needs single_task test predictions)"]
    lines = ["| variant vs SingleTask | clicked test rows | seeds | mean MSE difference | "
             "1% of SingleTask MSE | SE from test rows | SE over seeds | total SE | 1% "
             "detectable (1.96·SE < 1%) | clicked test rows needed |", "|---" * 10 + "|"]
    for v, r in res.items():
        seed_se = "–" if r["seed_se"] is None else f"{r['seed_se']:.6f}"
        lines.append(f"| {v} | {r['clicked_rows']:,} | {r['seeds']} | "
                     f"{r['mean_difference']:+.6f} | {r['target']:.6f} | {r['row_se']:.6f} | "
                     f"{seed_se} | {r['total_se']:.6f} | {'yes' if r['detectable'] else 'no'} | "
                     f"{r['clicked_rows_needed']:,} |")
    return lines


def render(report: Dict) -> str:
    d = report["data"]
    splits = d.get("splits", {})
    split_text = "; ".join(f"{n} {s['days'][0]}..{s['days'][-1]} ({s['rows']:,} rows, "
                           f"{s['clicks']:,} clicks)" for n, s in splits.items())
    t3 = report.get("offline_table3") or {}
    out = [
        "# LT4REC experiment report",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Data: `{d.get('data_dir')}` — rows read {d.get('rows_read', '?'):,}, accepted "
        f"{d.get('rows_accepted', '?'):,}, rejected {d.get('rows_rejected', '?'):,}. Splits: "
        f"{split_text}.",
        "",
        f"Seeds: {report['seeds']}. Missing runs: "
        f"{', '.join(report['missing_runs']) if report['missing_runs'] else 'none'}.",
        "",
    ]
    for note in report.get("notes", []):
        out += [f"- {note}"]
    out += ["", "## Table 2: offline metrics on the test split (mean ± std over seeds)", ""]
    out += table2(report)
    out += ["",
            "† departs from the papers' method (see Diagnostics). "
            "Changes read as in the papers' Table 2: CVR MSE change = MSE(variant) − "
            "MSE(SingleTask), so a CVR MSE that went up reads \"+x% (worse)\"; CTR AUC change "
            "= AUC(variant) − AUC(SingleTask), a drop reads \"−x (worse)\". p values: paired "
            "t-test over seeds (scipy.stats.ttest_rel, seed i vs seed i; undefined with one "
            "seed). FLOPs: multiply-adds per example of the exported models, nonzero / dense "
            "(S-Weight's nonzero count is what sparse kernels would execute; S-Neuron exports "
            "are compacted). Export sizes and parameter counts are in report.json.",
            "",
            "## Can this test window separate a 1% CVR MSE difference?", ""]
    out += resolution(report.get("cvr_mse_resolution_vs_single_task", {}))
    out += ["",
            "SE from test rows: standard error of the mean per-row squared-error difference "
            "(paired on the same clicked test rows), averaged over seeds; SE over seeds: std "
            "of the per-seed MSE difference / √K. A 1% difference is detectable when 1.96 × "
            "total SE is below 1% of SingleTask's MSE. Clicked test rows needed: how many "
            "clicked test rows would bring 1.96 × the row SE down to 1% (ignoring the seed "
            "term), at this pair's per-row spread.",
            "",
            "## Table 3 (offline analog): expected view time of the top-ranked items", ""]
    if t3:
        out += [f"{t3['definition']}. Requests: "
                + ", ".join(f"{n:,} for top-{k}" for k, n in t3["requests"].items())
                + f". Rank score: pCTR^{t3['exponents'][0]:g} · pCVR^{t3['exponents'][1]:g} "
                f"· video_length^{t3['exponents'][2]:g}. View time source: "
                f"**{t3['view_time_source']}**"
                + (" (expected click probability × expected watch ratio × length, from the "
                   "simulator)." if t3["view_time_source"] == "ground_truth" else
                   " (logged watch time of the shown items, 0 when not clicked). **Selection "
                   "bias caveat**: only items the platform already chose to show are re-ranked, "
                   "their outcomes were logged under the platform's own ranking, and this "
                   "extract keeps only explicitly liked/hated impressions; the figures compare "
                   "orderings of logged items, not what a model would earn online."), ""]
    out += table3(t3)
    out += ["", "Lift: mean over seeds of the per-request paired difference to SingleTask × "
                "SingleTask (same seed), relative to it; ± combines the request-level SE and "
                "the spread over seeds. Random order = k × mean view time of a request's "
                "items; oracle = ranking by the true view time.", ""]
    out += render_diagnostics(report)
    out += ["## Figures", ""]
    for f in report.get("figures", []):
        out += [f"![{f}]({f})", ""]
    return "\n".join(out) + "\n"
