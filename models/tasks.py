"""The two tasks: what each predicts, its loss, and its metrics.

* CTR (task 0): P(click | impression), log loss on every impression, AUC.
* CVR (task 1): E[watch ratio | click], on clicked impressions only; MSE or soft-label log loss
  (``LossConfig.cvr_loss``), with the gradient-conflict weight on clicked-but-barely-watched
  samples; metric MSE over clicked impressions.
* CTCVR (ESMM and evaluation): pCTR * pCVR over every impression, label click * watch ratio;
  ``ctcvr_auc`` takes "click and watch ratio >= effective_view_ratio" as the positive class.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from lt4rec.models.config import LossConfig

CTR, CVR = 0, 1
TASKS = (CTR, CVR)
TASK_NAMES = ("ctr", "cvr")
OUTPUT_NAMES = ("pctr", "pcvr")
_EPS = 1e-7


def ctr_loss(click: tf.Tensor, pctr: tf.Tensor) -> tf.Tensor:
    """Mean log loss; click, pctr: [B] float32."""
    return tf.reduce_mean(tf.keras.losses.binary_crossentropy(click[:, None], pctr[:, None]))


def _pointwise_cvr(ratio, pcvr, kind: str):
    if kind == "mse":
        return tf.square(ratio - pcvr)
    p = tf.clip_by_value(pcvr, _EPS, 1 - _EPS)
    return -(ratio * tf.math.log(p) + (1 - ratio) * tf.math.log(1 - p))


def cvr_sample_weights(ratio: tf.Tensor, config: LossConfig) -> tf.Tensor:
    """Gradient-conflict knob: ``conflict_weight`` where ratio < ``conflict_ratio``, else 1."""
    return tf.where(ratio < config.conflict_ratio, config.conflict_weight, 1.0)


def cvr_loss(ratio: tf.Tensor, pcvr: tf.Tensor, clicked: tf.Tensor,
             config: LossConfig) -> tf.Tensor:
    """CVR loss over the clicked rows of a batch.

    Args:
      ratio: [B] watch ratio (any value where not clicked); pcvr: [B] prediction;
      clicked: [B] float 0/1, which rows carry a CVR label.
    Returns:
      sum(clicked * weight * l) / max(sum(clicked), 1).
    """
    weights = clicked * cvr_sample_weights(ratio, config)
    total = tf.reduce_sum(weights * _pointwise_cvr(ratio, pcvr, config.cvr_loss))
    return total / tf.maximum(tf.reduce_sum(clicked), 1.0)


def ctcvr_loss(click: tf.Tensor, ratio: tf.Tensor, pctr: tf.Tensor, pcvr: tf.Tensor,
               config: LossConfig) -> tf.Tensor:
    """ESMM: loss of pCTR * pCVR against click * watch ratio, over every impression."""
    target = click * ratio
    weights = tf.where(click > 0, cvr_sample_weights(ratio, config), 1.0)
    return tf.reduce_mean(weights * _pointwise_cvr(target, pctr * pcvr, config.cvr_loss))


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties count half); NaN when one class is absent."""
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


def evaluate_predictions(click: np.ndarray, ratio: np.ndarray, pctr: np.ndarray,
                         pcvr: np.ndarray, effective_view_ratio: float,
                         tasks: Optional[tuple] = None) -> Dict[str, float]:
    """The product's offline metrics on one split.

    Args:
      click: [N] 0/1; ratio: [N] watch ratio (ignored where click = 0); pctr, pcvr: [N].
    Returns:
      ctr_auc (all impressions), ctr_logloss, cvr_mse (clicked only), ctcvr_auc, and counts.
    """
    click = np.asarray(click, np.float64)
    clicked = click > 0
    out = {"impressions": int(len(click)), "clicks": int(clicked.sum())}
    if pctr is not None:
        p = np.clip(pctr, _EPS, 1 - _EPS)
        out["ctr_auc"] = auc(click, pctr)
        out["ctr_logloss"] = float(-np.mean(click * np.log(p) + (1 - click) * np.log(1 - p)))
    if pcvr is not None:
        out["cvr_mse"] = (float(np.mean((ratio[clicked] - pcvr[clicked]) ** 2))
                          if clicked.any() else float("nan"))
    if pctr is not None and pcvr is not None:
        effective = clicked & (ratio >= effective_view_ratio)
        out["ctcvr_auc"] = auc(effective, pctr * pcvr)
    return out
