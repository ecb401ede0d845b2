"""report.md's diagnostics section: report.json's ``diagnostics`` rendered as tables."""

from __future__ import annotations

from typing import Dict, List, Optional

from lt4rec.experiment.stats import fmt_mean_std


def _f(summary: Optional[Dict], digits: int) -> str:
    return fmt_mean_std(summary, digits) if summary else "–"


def departures(report: Dict) -> List[str]:
    """One line per variant whose settings depart from the papers' method."""
    deps = report.get("departures_from_papers") or {}
    if not deps:
        return ["Every variant follows the papers' mask search (no departures)."]
    return [f"- **{v}** departs from the papers: " + "; ".join(d) for v, d in deps.items()]


def sharing_table(diags: Dict[str, Dict]) -> List[str]:
    lines = ["| variant | sNET layer | Jaccard(CTR, CVR kept) | Jaccard if independent | "
             "overlap coefficient | CTR: shared / only, of CTR kept | CVR: shared / only, of "
             "CVR kept |", "|---" * 7 + "|"]
    for v, d in diags.items():
        for l in d.get("mask_sharing", []):
            lines.append(f"| {v} | {l['layer']} | {_f(l['jaccard'], 3)} | "
                         f"{_f(l['jaccard_if_independent'], 3)} | "
                         f"{_f(l['overlap_coefficient'], 3)} | "
                         f"{_f(l['ctr_shared_of_kept'], 3)} / {_f(l['ctr_only_of_kept'], 3)} | "
                         f"{_f(l['cvr_shared_of_kept'], 3)} / {_f(l['cvr_only_of_kept'], 3)} |")
    return lines


def round_overlap_table(diags: Dict[str, Dict]) -> List[str]:
    rows = [(v, d["round_overlap"]) for v, d in diags.items() if d.get("round_overlap")]
    if not rows:
        return ["(no run recorded round overlap)"]
    lines = ["| variant | round | sparsity | Jaccard(CTR, CVR) | Jaccard if independent |",
             "|---" * 5 + "|"]
    for v, rounds in rows:
        for r in rounds:
            indep = "–" if r["jaccard_if_independent"] is None else \
                f"{r['jaccard_if_independent']:.3f}"
            lines.append(f"| {v} | {r['round']} | {r['sparsity']:.3f} | {_f(r['jaccard'], 3)} | "
                         f"{indep} |")
    return lines


def movement_table(diags: Dict[str, Dict]) -> List[str]:
    rows = [(v, task, rounds) for v, d in diags.items()
            for task, rounds in d.get("round_movement", {}).items()]
    if not rows:
        return ["(no run recorded movement)"]
    n = max(len(r) for _, _, r in rows)
    lines = ["| variant | task | " + " | ".join(f"round {i}" for i in range(n)) + " |",
             "|---" * (2 + n) + "|"]
    for v, task, rounds in rows:
        cells = [_f(r["snet"], 4) for r in rounds] + [""] * (n - len(rounds))
        lines.append(f"| {v} | {task.upper()} | " + " | ".join(cells) + " |")
    return lines


def rounds_table(diags: Dict[str, Dict]) -> List[str]:
    lines = ["| variant | task | round | mean sparsity | validation (mean ± std over seeds) | "
             "picked by seeds |", "|---" * 6 + "|"]
    picks_lines = []
    for v, d in diags.items():
        for task, info in d.get("rounds", {}).items():
            for r, sparsity in zip(info["rounds"], info["sparsity"]):
                chosen = [str(p["seed"]) for p in info["picks"]
                          if p["picked_round"] == r["round"]]
                lines.append(f"| {v} | {task.upper()} {info['metric']} | {r['round']} | "
                             f"{sparsity:.3f} | {_f(r['validation'], 5)} | "
                             f"{', '.join(chosen) or '–'} |")
            defined = sum(1 for p in info["picks"] if p["within_noise"] is not None)
            count = (f"{info['within_noise']}/{defined} seed(s)" if defined
                     else "undefined (needs two seeds)")
            picks_lines.append(f"- {v} {task.upper()}: pick within noise for {count}; "
                               + "; ".join(_pick_text(p) for p in info["picks"]))
    return lines + [""] + picks_lines


def _pick_text(p: Dict) -> str:
    if p["advantage"] is None:
        return f"seed {p['seed']}: round {p['picked_round']} (only round)"
    spread = "no spread (one seed)" if p["seed_spread"] is None else \
        f"spread {p['seed_spread']:.5f}"
    flag = {True: "**within noise**", False: "beyond noise", None: "undefined"}[
        p["within_noise"]]
    return (f"seed {p['seed']}: round {p['picked_round']} vs round {p['reference_round']} "
            f"advantage {p['advantage']:+.5f}, {spread}: {flag}")


def balance_table(diags: Dict[str, Dict]) -> List[str]:
    rows = [(v, d["gradient_balance"]) for v, d in diags.items() if "gradient_balance" in d]
    if not rows:
        return ["(no run recorded gradient balance)"]
    lines = ["| variant | CTR:CVR steps | CTR:CVR summed shared-gradient norm | CTR:CVR summed "
             "learning rate | mean norm per step CTR | CVR |", "|---" * 6 + "|"]
    for v, b in rows:
        lines.append(f"| {v} | {_f(b['steps_ratio'], 2)} | {_f(b['grad_norm_ratio'], 2)} | "
                     f"{_f(b['learning_rate_ratio'], 2)} | {_f(b['ctr_mean_norm'], 4)} | "
                     f"{_f(b['cvr_mean_norm'], 4)} |")
    return lines


def render_diagnostics(report: Dict) -> List[str]:
    """The '## Diagnostics' section of report.md."""
    diags = report.get("diagnostics") or {}
    out = ["## Diagnostics: do the tasks find their own sub-networks?", ""]
    out += departures(report)
    out += ["", "### Mask sharing per sNET layer (mean ± std over seeds)", ""]
    out += sharing_table(diags)
    out += ["", "Jaccard = kept by both / kept by either; *if independent*: what two random "
                "masks of the same densities would give (p·q / (p + q − p·q)). Overlap "
                "coefficient = kept by both / the smaller kept set (1: the sparser mask lies "
                "inside the denser one). Shared (only) of kept = the fraction of a task's kept "
                "weights the other task also keeps (does not keep).", "",
            "### The two tasks' masks round by round (equal sparsity)", ""]
    out += round_overlap_table(diags)
    out += ["", "Round r's masks of both tasks have the same sparsity, so this shows what the "
                "pruning criterion alone makes the tasks share; the table above also depends "
                "on which rounds the picks take.", "",
            "### Movement from θ per pruning round: ||w − θ|| / ||θ|| over sNET kernels", ""]
    out += movement_table(diags)
    out += ["", "### Pruning rounds next to the seed spread", ""]
    out += rounds_table(diags)
    out += ["", "A pick is *within noise* when its advantage over round 0 (over the best other "
                "round when round 0 is picked; > 0 = the pick scored better) is smaller than "
                "the seed spread (std over seeds of the picked round's validation score).", "",
            "### Gradient balance on the shared parts during final training (CTR:CVR)", ""]
    out += balance_table(diags)
    out += ["", "Shared parts: shared embeddings and sNET (or the experts of MMoE/PLE). Steps: "
                "optimizer steps per task; summed norm: Σ over steps of the global norm of the "
                "task's loss gradient over the shared variables; summed learning rate: Σ over "
                "steps of the step's learning rate (alternate mode puts loss weights there). "
                "Per-seed values are in report.json.", ""]
    return out
