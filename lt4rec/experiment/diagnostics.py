"""Why a sparse variant wins or loses: mask sharing, movement, pick noise, gradient balance.

Computed from the runs' metrics.json (no TensorFlow), per variant, every figure also per seed:

* ``mask_sharing``: per sNET layer, the Jaccard of the two tasks' kept sets (and what two
  independent random masks of the same densities would give), the overlap coefficient (shared
  / smaller kept set: 1 = nested masks) and, per task, the fraction of its kept weights that
  the other task also keeps (``shared_of_kept``) or not (``only_of_kept``);
* ``round_overlap``: per pruning round, the Jaccard of the two tasks' masks at that round's
  equal sparsity (the criterion's effect, apart from the picks);
* ``round_movement``: per task and pruning round, ||w_round - theta|| / ||theta|| after the
  round's training (sNET kernels ``snet``; every trainable weight ``all``);
* ``rounds``: per task and round, the validation score's mean and std over seeds, and per seed
  whether the pick is *within noise*: the picked round's advantage over round 0 (over the
  best other round when round 0 is picked) is smaller than the seed spread (std over seeds
  of the picked round's score);
* ``gradient_balance``: CTR:CVR ratios, over final training, of optimizer steps, of summed
  loss-gradient norms reaching the shared variables, and of summed learning rates (steps
  weighted by each task's step size; alternate mode applies loss weights there).
"""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from lt4rec.experiment.stats import summarize
from lt4rec.models.config import config_from_dict

TASKS = ("ctr", "cvr")
HIGHER_IS_BETTER = {"ctr_auc": True, "cvr_mse": False}


def _ratio(a: float, b: float) -> Optional[float]:
    return float(a / b) if b else None


def layer_sharing(row: Dict) -> Dict[str, float]:
    """Sharing fractions of one layer's mask statistics (``pruning.mask_statistics`` row)."""
    union = row["shared"] + row["ctr_only"] + row["cvr_only"]
    p, q = row["kept_ctr"] / row["entries"], row["kept_cvr"] / row["entries"]
    out = {"jaccard": _ratio(row["shared"], union),
           # Jaccard two independent random masks of these densities would have
           "jaccard_if_independent": _ratio(p * q, p + q - p * q),
           # 1 = the sparser mask lies inside the denser one (nested, one mask thinned)
           "overlap_coefficient": _ratio(row["shared"], min(row["kept_ctr"], row["kept_cvr"]))}
    for task in TASKS:
        kept = row[f"kept_{task}"]
        out[f"{task}_shared_of_kept"] = _ratio(row["shared"], kept)
        out[f"{task}_only_of_kept"] = _ratio(row[f"{task}_only"], kept)
    return out


def mask_sharing(runs: List[Dict]) -> List[Dict]:
    """Per layer: each sharing fraction summarized over the runs (seeds, in order)."""
    per_run = [[layer_sharing(row) for row in run["mask_statistics"]] for run in runs]
    out = []
    for i, row in enumerate(runs[0]["mask_statistics"]):
        entry = {"layer": row["layer"]}
        for key in per_run[0][i]:
            entry[key] = summarize([r[i][key] for r in per_run if r[i][key] is not None])
        out.append(entry)
    return out


def round_movement(runs: List[Dict]) -> Dict[str, List[Dict]]:
    """task -> per round {round, snet, all} summarized over seeds (runs that recorded it)."""
    out = {}
    for task in TASKS:
        rounds = [run["mask_search"]["tasks"][task]["rounds"] for run in runs]
        if not all(r.get("movement") for rs in rounds for r in rs):
            continue
        out[task] = [{"round": i, **{k: summarize([rs[i]["movement"][k] for rs in rounds])
                                     for k in ("snet", "all")}}
                     for i in range(len(rounds[0]))]
    return out


def round_overlap(runs: List[Dict]) -> List[Dict]:
    """Per round: the Jaccard of the two tasks' masks at that round's (equal) sparsity, over
    seeds, next to what independent masks of that sparsity would give (runs that recorded
    it; ``MaskSearch.round_overlap``)."""
    records = [run["mask_search"].get("round_overlap") for run in runs]
    if not all(records):
        return []
    out = []
    for r in range(min(len(x) for x in records)):
        keep = 1.0 - float(np.mean([x[r]["sparsity"] for x in records]))
        out.append({"round": r, "sparsity": 1.0 - keep,
                    "jaccard": summarize([x[r]["jaccard"] for x in records]),
                    "jaccard_if_independent": keep / (2.0 - keep) if keep > 0 else None})
    return out


def pick_noise(scores: List[List[float]], picked: List[int], higher_is_better: bool,
               seeds: List[int]) -> Dict:
    """Per seed, is the pick's advantage within the seed spread? (see the module docstring).

    Args:
      scores: per seed, the validation score of every round; picked: per seed, the pick.
    Returns:
      {"rounds": [{"round", "validation": summary over seeds}], "picks": [{"seed",
      "picked_round", "reference_round", "advantage", "seed_spread", "within_noise"}],
      "within_noise": count of seeds whose pick is within noise, "seeds": count}.
      ``advantage`` > 0: the picked round scored better than the reference round.
      ``within_noise`` is None with one seed (no spread).
    """
    table = np.asarray(scores, np.float64)          # [seeds, rounds]
    sign = 1.0 if higher_is_better else -1.0
    spread = [summarize(table[:, r])["std"] for r in range(table.shape[1])]
    picks = []
    for s, (row, p) in enumerate(zip(table, picked)):
        others = [r for r in range(len(row)) if r != p]
        if not others:
            ref = None
        elif p != 0:
            ref = 0
        else:
            ref = max(others, key=lambda r: sign * row[r])
        adv = None if ref is None else float(sign * (row[p] - row[ref]))
        noise = None if adv is None or spread[p] is None else bool(abs(adv) < spread[p])
        picks.append({"seed": seeds[s], "picked_round": int(p), "reference_round": ref,
                      "advantage": adv, "seed_spread": spread[p], "within_noise": noise})
    return {"rounds": [{"round": r, "validation": summarize(table[:, r])}
                       for r in range(table.shape[1])],
            "picks": picks, "within_noise": sum(1 for x in picks if x["within_noise"]),
            "seeds": len(picks)}


def pick_diagnostics(runs: List[Dict], seeds: List[int]) -> Dict[str, Dict]:
    """task -> ``pick_noise`` of the runs' mask search, plus the metric's name."""
    out = {}
    for task in TASKS:
        infos = [run["mask_search"]["tasks"][task] for run in runs]
        metric = infos[0]["rounds"][0]["metric"]
        out[task] = dict(pick_noise([[r["validation"] for r in i["rounds"]] for i in infos],
                                    [i["picked_round"] for i in infos],
                                    HIGHER_IS_BETTER.get(metric, False), seeds),
                         metric=metric,
                         sparsity=[float(np.mean([i["rounds"][r]["sparsity"] for i in infos]))
                                   for r in range(len(infos[0]["rounds"]))])
    return out


def gradient_balance(runs: List[Dict]) -> Optional[Dict]:
    """CTR:CVR ratios of steps, summed shared-gradient norms and summed learning rates.

    None when the runs did not record them, trained in joint mode (one loss per step), or
    share nothing (SingleTask: no gradient reaches a shared variable).
    """
    if not all(set(TASKS) <= set(run.get("shared_gradients") or {}) for run in runs):
        return None
    if all(run["shared_gradients"][t]["grad_norm_sum"] == 0 for run in runs for t in TASKS):
        return None
    per_seed = []
    for run in runs:
        g = run["shared_gradients"]
        ctr, cvr = g["ctr"], g["cvr"]
        per_seed.append({
            "steps_ratio": _ratio(ctr["steps"], cvr["steps"]),
            "grad_norm_ratio": _ratio(ctr["grad_norm_sum"], cvr["grad_norm_sum"]),
            "learning_rate_ratio": _ratio(ctr["learning_rate_sum"], cvr["learning_rate_sum"]),
            "ctr_mean_norm": _ratio(ctr["grad_norm_sum"], ctr["steps"]),
            "cvr_mean_norm": _ratio(cvr["grad_norm_sum"], cvr["steps"])})
    return {k: summarize([p[k] for p in per_seed if p[k] is not None]) for k in per_seed[0]}


def variant_diagnostics(seeds: Dict[int, Dict]) -> Dict:
    """Every diagnostic of one variant (seed -> metrics.json); parts absent when not apply."""
    order = sorted(seeds)
    runs = [seeds[s] for s in order]
    config = config_from_dict(runs[0]["config"])
    out: Dict = {"departures_from_papers": config.departures_from_papers}
    balance = gradient_balance(runs)
    if balance is not None:
        out["gradient_balance"] = balance
    if all("mask_search" in r and "mask_statistics" in r for r in runs):
        out["pruning_config"] = runs[0]["config"]["pruning"]
        out["mask_sharing"] = mask_sharing(runs)
        out["round_movement"] = round_movement(runs)
        out["round_overlap"] = round_overlap(runs)
        out["rounds"] = pick_diagnostics(runs, order)
    return out


def diagnostics(runs: Dict[str, Dict[int, Dict]]) -> Dict[str, Dict]:
    """variant -> ``variant_diagnostics``."""
    return {v: variant_diagnostics(seeds) for v, seeds in runs.items()}
