"""Offline analog of the papers' online A/B test (Table 3): view time of the top-ranked items.

A *request* is one user's impressions within one UTC hour of one day (same ``user_id``,
folder day and ``hour_of_day``) with at least two impressions: the log contract has no
request id, and a user-hour is the closest the contract gets to one page of results. Each
request's impressions are ranked by ``rankscore = pCTR^a · pCVR^b · video_length_s^c`` and
the expected view time of its top k is summed:

* simulated logs: from the simulator's ground truth (``DATA/_ground_truth/DAY.csv``):
  expected click probability × expected watch ratio × video length, per impression;
* real logs: the logged watch time of the shown items (0 where not clicked). Caveat: only
  the items the platform chose to show are ever scored, and their outcomes were logged under
  the platform's own ranking (and, for the KuaiRand like/hate extract, only impressions the
  user explicitly liked or hated): re-ranking within a request measures ordering quality among
  those items, not what a different ranker would have earned online.

A pairing takes pCTR from one variant's run and pCVR from another's, seed i with seed i.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from lt4rec.schemas import logs
from lt4rec.models.artifacts import TEST_PREDICTIONS_FILE
from lt4rec.models.rankscore import log_rank_scores
from lt4rec.schemas import names
from lt4rec.schemas.validation import validate_logs

TRUTH_P_CLICK = "p_click"
TRUTH_WATCH_RATIO = "expected_watch_ratio"
# (label, pCTR variant, pCVR variant): the papers' Table 3 plus the standard MTL peers.
PAIRINGS: Tuple[Tuple[str, str, str], ...] = (
    ("SingleTask x SingleTask", "single_task", "single_task"),
    ("SingleTask x LayerShare", "single_task", "hard_share"),
    ("SingleTask x ConnectionShare", "single_task", "sparse_weight"),
    ("ConnectionShare x ConnectionShare", "sparse_weight", "sparse_weight"),
    ("NeuronShare x NeuronShare", "sparse_neuron", "sparse_neuron"),
    ("MMoE x MMoE", "mmoe", "mmoe"),
    ("PLE x PLE", "ple", "ple"),
    ("ESMM x ESMM", "esmm", "esmm"),
)
BASELINE = PAIRINGS[0][0]


def load_test_rows(data_dir: str, test_days: Sequence[str]) -> Dict[str, np.ndarray]:
    """The test split's accepted rows, typed, in the trainer's row order (day, then file)."""
    files = [f for f, day in logs.find_log_files(data_dir)
             if day is not None and day.strftime(logs.DAY_FORMAT) in set(test_days)]
    if not files:
        raise FileNotFoundError(f"no log files for test days {list(test_days)} under {data_dir}")
    result = validate_logs(files, use_tfdv=False)
    cols = dict(result.accepted)
    cols["_day"] = np.concatenate([np.full(n, day) for day, n in _rows_per_file(files, result)])
    return cols


def _rows_per_file(files, result):
    # validate_logs concatenates files in order; its per-file summaries give the counts
    for f, summary in zip(files, result.files):
        yield os.path.basename(os.path.dirname(f)), summary["rows_accepted"]


def expected_view_time(data_dir: str, rows: Dict[str, np.ndarray]) -> Tuple[np.ndarray, str]:
    """[N] expected view time (s) per test row and its source ("ground_truth" or "logged")."""
    truth_dir = os.path.join(data_dir, logs.GROUND_TRUTH_DIR)
    length = rows[names.VIDEO_LENGTH_S].astype(np.float64)
    if not os.path.isdir(truth_dir):
        watch = np.where(rows[names.CLICK] > 0, rows[names.WATCH_TIME_S], 0.0)
        return watch.astype(np.float64), "logged"
    import pandas as pd
    parts = [pd.read_csv(os.path.join(truth_dir, f"{day}.csv"))
             for day in dict.fromkeys(rows["_day"])]
    truth = pd.concat(parts).set_index(names.IMPRESSION_ID)
    ids = rows[names.IMPRESSION_ID]
    missing = ~np.isin(ids, truth.index.to_numpy())
    if missing.any():
        raise ValueError(f"{missing.sum()} test impressions have no ground truth under "
                         f"{truth_dir} (e.g. id {ids[missing][0]})")
    t = truth.loc[ids]
    return (t[TRUTH_P_CLICK].to_numpy() * t[TRUTH_WATCH_RATIO].to_numpy() * length,
            "ground_truth")


def requests(rows: Dict[str, np.ndarray], min_size: int = 2) -> List[np.ndarray]:
    """Row indices of each request (user × day × UTC hour) with at least ``min_size`` rows."""
    key = np.stack([np.unique(rows["_day"], return_inverse=True)[1],
                    rows[names.USER_ID].astype(np.int64),
                    rows[names.HOUR_OF_DAY].astype(np.int64)], axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    groups = np.split(order, np.cumsum(counts)[:-1])
    return [g for g in groups if len(g) >= min_size]


def top_k_value(groups: Sequence[np.ndarray], score: np.ndarray, value: np.ndarray,
                k: int) -> np.ndarray:
    """[R] sum of ``value`` over each group's ``k`` highest-``score`` rows (ties: row order)."""
    out = np.empty(len(groups))
    for i, g in enumerate(groups):
        top = g[np.argsort(-score[g], kind="stable")[:k]]
        out[i] = value[top].sum()
    return out


def rank_score(pctr: np.ndarray, pcvr: np.ndarray, length: np.ndarray,
               exponents: Tuple[float, float, float]) -> np.ndarray:
    """log of pCTR^a · pCVR^b · video_length^c (``models.rankscore``, Eq. 3); same order."""
    return log_rank_scores(pctr, pcvr, length, *exponents)


def offline_table3(data_dir: str, test_days: Sequence[str],
                   predictions: Dict[str, Dict[int, Dict[str, np.ndarray]]],
                   ks: Sequence[int] = (1, 3),
                   exponents: Tuple[float, float, float] = (1.0, 1.0, 1.0)) -> Dict:
    """Expected top-k view time per pairing (mean over seeds) and its lift vs SingleTask².

    Args:
      predictions: variant -> seed -> {"pctr", "pcvr", "click", "ratio"} over the test split.
    Returns:
      {"requests": {k: count}, "pairings": {label: {"ctr", "cvr", "seeds", "top_k": {k:
      {"mean_view_s", "std_over_seeds", "lift_vs_baseline", "lift_se"}}}}, "reference":
      {k: {"random", "oracle"}}, "view_time_source", "definition"}. Top-k at k counts only
      requests with more than k impressions (otherwise every ranking picks them all).
    """
    rows = load_test_rows(data_dir, test_days)
    value, source = expected_view_time(data_dir, rows)
    length = rows[names.VIDEO_LENGTH_S].astype(np.float64)
    _check_alignment(rows, predictions)
    by_k = {k: requests(rows, min_size=max(2, k + 1)) for k in ks}
    out = {"view_time_source": source, "exponents": list(exponents),
           "definition": "request = one user's impressions in one UTC hour of one test day; "
                         "top-k counted over requests with more than k impressions",
           "requests": {str(k): len(g) for k, g in by_k.items()},
           "reference": {}, "pairings": {}}
    for k, groups in by_k.items():
        out["reference"][str(k)] = {
            "random": float(np.mean([value[g].mean() * k for g in groups])) if groups else None,
            "oracle": float(np.mean(top_k_value(groups, value, value, k))) if groups else None}
    base_per_seed: Dict[int, Dict[int, np.ndarray]] = {}
    for label, ctr_v, cvr_v in PAIRINGS:
        if ctr_v not in predictions or cvr_v not in predictions:
            continue
        seeds = sorted(set(predictions[ctr_v]) & set(predictions[cvr_v]))
        entry = {"ctr": ctr_v, "cvr": cvr_v, "seeds": seeds, "top_k": {}}
        for k, groups in by_k.items():
            if not groups:
                entry["top_k"][str(k)] = {"mean_view_s": None, "std_over_seeds": None,
                                          "lift_vs_baseline": None, "lift_se": None}
                continue
            per_seed = {}
            for s in seeds:
                score = rank_score(predictions[ctr_v][s]["pctr"], predictions[cvr_v][s]["pcvr"],
                                   length, exponents)
                per_seed[s] = top_k_value(groups, score, value, k)
            if label == BASELINE:
                base_per_seed[k] = per_seed
            means = [float(v.mean()) for v in per_seed.values()]
            entry["top_k"][str(k)] = dict(
                mean_view_s=float(np.mean(means)) if means else None,
                std_over_seeds=float(np.std(means, ddof=1)) if len(means) > 1 else None,
                **_lift(per_seed, base_per_seed.get(k, {})))
        out["pairings"][label] = entry
    return out


def _lift(per_seed: Dict[int, np.ndarray], base: Dict[int, np.ndarray]) -> Dict:
    """Relative lift vs the baseline pairing (paired by seed and request) and its SE."""
    common = sorted(set(per_seed) & set(base))
    if not common:
        return {"lift_vs_baseline": None, "lift_se": None}
    lifts, ses = [], []
    for s in common:
        d = per_seed[s] - base[s]
        b = base[s].mean()
        lifts.append(d.mean() / b)
        ses.append(np.std(d, ddof=1) / np.sqrt(len(d)) / b if len(d) > 1 else float("nan"))
    seed_var = np.var(lifts, ddof=1) / len(lifts) if len(lifts) > 1 else 0.0
    return {"lift_vs_baseline": float(np.mean(lifts)),
            "lift_se": float(np.sqrt(np.mean(ses) ** 2 + seed_var))}


def _check_alignment(rows: Dict[str, np.ndarray],
                     predictions: Dict[str, Dict[int, Dict[str, np.ndarray]]]) -> None:
    click = rows[names.CLICK].astype(np.float32)
    for variant, seeds in predictions.items():
        for seed, p in seeds.items():
            logged = p[names.CLICK]
            if len(logged) != len(click) or not np.array_equal(logged, click):
                raise ValueError(f"test predictions of {variant} seed {seed} ({len(logged)} "
                                 f"rows) do not line up with the test logs ({len(click)} rows)")


def load_predictions(run_dirs: Dict[str, Dict[int, str]]) -> Dict:
    """variant -> seed -> arrays of the run's test_predictions.npz (runs without one skipped)."""
    out: Dict[str, Dict[int, Dict[str, np.ndarray]]] = {}
    for variant, seeds in run_dirs.items():
        for seed, path in seeds.items():
            f = os.path.join(path, TEST_PREDICTIONS_FILE)
            if os.path.isfile(f):
                with np.load(f) as z:
                    out.setdefault(variant, {})[seed] = {k: z[k] for k in z.files}
    return out


def rank_score_text(exponents: Optional[Sequence[float]]) -> str:
    """One line describing the rank score used."""
    a, b, c = exponents or (1.0, 1.0, 1.0)
    return f"rankscore = pCTR^{a:g} · pCVR^{b:g} · video_length^{c:g}"
