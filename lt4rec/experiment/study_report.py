"""study.md and the per-ladder PNGs of a regime study (``lt4rec.experiment.study``)."""

from __future__ import annotations

import os
from typing import Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:+.2f}%"


def _mse_word(rel) -> str:
    """A CVR MSE change read the papers' way: up is worse."""
    if rel is None:
        return "–"
    return f"{_pct(rel)} ({'worse' if rel > 0 else 'better'})"


def ladder_figure(name: str, points: List[Dict], reference: str, compare_to: List[str],
                  path: str) -> str:
    """(reference − comparator) test CVR MSE in % of the comparator's, 95% intervals, per point."""
    fig, ax = plt.subplots(figsize=(7, 4))
    done = [p for p in points if p.get("finished")]
    x = list(range(len(done)))
    for k, other in enumerate(compare_to):
        rows = [p["reference_minus"].get(other, {}).get("cvr_mse") for p in done]
        xs = [i + (k - len(compare_to) / 2) * 0.06 for i, r in zip(x, rows) if r]
        ys = [100 * r["relative"] for r in rows if r]
        err = [[100 * (r["relative"] - r["relative_ci95"][0]) for r in rows if r],
               [100 * (r["relative_ci95"][1] - r["relative"]) for r in rows if r]] \
            if all(r and r["relative_ci95"] for r in rows) else None
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=f"{reference} − {other}")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xticks(x, [p["label"] for p in done])
    ax.set_xlabel(name)
    ax.set_ylabel("test CVR MSE difference, % (below 0 = reference better)")
    ax.set_title(f"{reference} vs peers along {name} (95% CI over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def render_markdown(study: Dict, command: str) -> str:
    """study.md: per ladder, a table of every variant's metrics and the reference's diffs."""
    lines = [f"# Regime study `{study['name']}`", "", f"Command: `{command}`", "",
             f"Variants: {', '.join(study['variants'])}; seeds 0..{study['seeds'] - 1}; "
             f"reference **{study['reference']}**. Differences are paired per seed "
             "(reference − comparator), with a 95% t interval over seeds and the paired t-test "
             "p value. A CVR MSE difference above 0 means the reference is worse.", ""]
    for ladder, points in study["ladders"].items():
        lines += [f"## Ladder: {ladder}", "", f"![{ladder}]({ladder}.png)", ""]
        head = "| point | rows/day | " + " | ".join(
            f"{v} CVR MSE" for v in study["variants"]) + " |"
        lines += [head, "|" + "---|" * (2 + len(study["variants"]))]
        for p in points:
            cells = [p["label"], f"{p['rows_per_day']:,}"]
            for v in study["variants"]:
                s = p.get("variants", {}).get(v, {}).get("cvr_mse")
                cells.append("–" if not s else f"{s['mean']:.5f} ± {s['std'] or 0:.5f}")
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", f"| point | comparator | CVR MSE {study['reference']} vs it | 95% CI | p "
                  "| CTR AUC difference | p (AUC) |", "|---|---|---|---|---|---|---|"]
        for p in points:
            for other, d in p.get("reference_minus", {}).items():
                mse, auc = d["cvr_mse"], d["ctr_auc"]
                ci = ("–" if not mse["relative_ci95"] else
                      f"[{_pct(mse['relative_ci95'][0])}, {_pct(mse['relative_ci95'][1])}]")
                lines.append(f"| {p['label']} | {other} | {_mse_word(mse['relative'])} | {ci} | "
                             f"{_p(mse['p_value'])} | {auc['mean']:+.4f} | {_p(auc['p_value'])} |")
        lines += [""] + _transfer_table(points, study["variants"]) + \
            _mechanism_table(points, study["variants"])
    return "\n".join(lines)


def _transfer_table(points: List[Dict], variants: List[str]) -> List[str]:
    """Every variant vs SingleTask per point: does any sharing help CVR in that world?"""
    others = [v for v in variants if any(v in p.get("minus_single_task", {}) for p in points)]
    if not others:
        return []
    lines = ["Every shared variant vs SingleTask (test CVR MSE, paired; p in brackets):", "",
             "| point | " + " | ".join(others) + " |", "|" + "---|" * (1 + len(others))]
    for p in points:
        cells = [p["label"]]
        for v in others:
            d = p.get("minus_single_task", {}).get(v, {}).get("cvr_mse")
            cells.append("–" if not d else f"{_mse_word(d['relative'])} (p {_p(d['p_value'])})")
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _mechanism_table(points: List[Dict], variants: List[str]) -> List[str]:
    """Item 1's evidence per point: gradient balance and how alike the two tasks' masks are."""
    rows = []
    for p in points:
        for v in variants:
            m = p.get("mechanism", {}).get(v)
            if not m:
                continue
            jac = ("–" if "mask_jaccard" not in m else
                   f"{m['mask_jaccard']:.2f} (independent: {m['mask_jaccard_if_independent']:.2f})")
            ratio = m.get("grad_norm_ratio")
            rows.append(f"| {p['label']} | {v} | {'–' if ratio is None else f'{ratio:.1f}'} | "
                        f"{jac} |")
    if not rows:
        return []
    return ["Mechanism (means over seeds): CTR:CVR ratio of summed gradient norms reaching the "
            "shared parts, and the two tasks' mask Jaccard averaged over sNET layers:", "",
            "| point | variant | CTR:CVR gradient norm | mask Jaccard |", "|---|---|---|---|",
            *rows, ""]


def _p(p) -> str:
    return "–" if p is None else f"{p:.3g}"


def write_study_report(study: Dict, out_dir: str, command: str) -> List[str]:
    """Writes study.md and one PNG per ladder; returns the PNG paths."""
    pngs = [ladder_figure(name, points, study["reference"], study["compare_to"],
                          os.path.join(out_dir, f"{name}.png"))
            for name, points in study["ladders"].items()]
    with open(os.path.join(out_dir, "study.md"), "w", encoding="utf-8") as fh:
        fh.write(render_markdown(study, command))
    return pngs
