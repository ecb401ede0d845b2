"""The product's offline metrics, exact and in NumPy: ROC AUC (ties count half), log loss, MSE.

Each task's own metrics (``ctr_metrics``, ``cvr_metrics``; the task objects of
``models.tasks`` name theirs) plus the joint CTCVR AUC make ``evaluate_predictions``, what every
run records per split. Exact rather than TF's streaming, bucketed ``tf.keras.metrics.AUC``, so
a metric does not depend on batch order or the number of thresholds.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

EPS = 1e-7


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties count half); NaN when one class is absent.

    Example: ``auc([0, 1, 0, 1], [0.1, 0.9, 0.5, 0.5]) == 0.875`` (3 of 4 pairs ordered, one tie).
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, np.float64)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), np.float64)
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def ctr_metrics(click: np.ndarray, pctr: np.ndarray) -> Dict[str, float]:
    """CTR task: ``ctr_auc`` and ``ctr_logloss`` (pCTR clipped to [EPS, 1 - EPS]) over every
    impression; click: [N] 0/1, pctr: [N]."""
    click = np.asarray(click, np.float64)
    p = np.clip(pctr, EPS, 1 - EPS)
    return {"ctr_auc": auc(click, pctr),
            "ctr_logloss": float(-np.mean(click * np.log(p) + (1 - click) * np.log(1 - p)))}


def cvr_metrics(click: np.ndarray, ratio: np.ndarray, pcvr: np.ndarray) -> Dict[str, float]:
    """CVR task: ``cvr_mse`` over clicked impressions only (NaN when none was clicked)."""
    clicked = np.asarray(click) > 0
    return {"cvr_mse": (float(np.mean((ratio[clicked] - pcvr[clicked]) ** 2))
                        if clicked.any() else float("nan"))}


def evaluate_predictions(click: np.ndarray, ratio: np.ndarray, pctr: Optional[np.ndarray],
                         pcvr: Optional[np.ndarray], effective_view_ratio: float,
                         tasks: Optional[tuple] = None) -> Dict[str, float]:
    """The product's offline metrics on one split.

    Args:
      click: [N] 0/1; ratio: [N] watch ratio (ignored where click = 0); pctr, pcvr: [N], or
        None for a task not predicted; effective_view_ratio: CTCVR's positive class is
        "clicked and watch ratio >= this"; tasks: unused (kept for callers that pass it).
    Returns:
      impressions, clicks; ctr_auc and ctr_logloss (all impressions); cvr_mse (clicked only);
      ctcvr_auc of pCTR * pCVR.
    """
    click = np.asarray(click, np.float64)
    clicked = click > 0
    out = {"impressions": int(len(click)), "clicks": int(clicked.sum())}
    if pctr is not None:
        out.update(ctr_metrics(click, pctr))
    if pcvr is not None:
        out.update(cvr_metrics(click, ratio, pcvr))
    if pctr is not None and pcvr is not None:
        effective = clicked & (ratio >= effective_view_ratio)
        out["ctcvr_auc"] = auc(effective, pctr * pcvr)
    return out
