"""The two tasks as objects: what each predicts, from which rows, its loss and its metrics.

* CTR (task 0, ``ClickTask``): P(click | impression); log loss on every impression; AUC and
  log loss.
* CVR (task 1, ``WatchRatioTask``): E[watch ratio | click], on clicked impressions only; MSE or
  soft-label log loss (``LossConfig.cvr_loss``), with the gradient-conflict weight on
  clicked-but-barely-watched samples; metric MSE over clicked impressions. In ESMM it trains
  through pCTCVR = pCTR * pCVR against click * watch ratio on every impression.
* CTCVR (evaluation): ``ctcvr_auc`` takes "click and watch ratio >= effective_view_ratio" as the
  positive class (``models.metrics``).

Each task is a ``tfrs.tasks.Ranking`` owning its loss; the trainer asks the task objects for
their rows, losses and loss weights, so adding a task is adding a task object (and a head).
The losses keep the reductions of the papers: CVR's weighted sum is divided by the number of
clicked rows of the batch (not by the batch size), so the Ranking losses run with reduction
NONE and each task reduces.
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from lt4rec.models.config import LossConfig, LT4RecConfig
from lt4rec.models.metrics import (EPS, auc, ctr_metrics, cvr_metrics,  # noqa: F401 (re-export)
                                   evaluate_predictions)

CTR, CVR = 0, 1
TASKS = (CTR, CVR)
TASK_NAMES = ("ctr", "cvr")
OUTPUT_NAMES = ("pctr", "pcvr")
_NONE = tf.keras.losses.Reduction.NONE


def cvr_sample_weights(ratio: tf.Tensor, config: LossConfig) -> tf.Tensor:
    """Gradient-conflict knob: ``conflict_weight`` where ratio < ``conflict_ratio``, else 1."""
    return tf.where(ratio < config.conflict_ratio, config.conflict_weight, 1.0)


class WatchRatioLoss(tf.keras.losses.Loss):
    """Per-row loss of a predicted watch ratio: squared error (``mse``) or soft-label log loss
    (``bce``, prediction clipped to [EPS, 1 - EPS]); reduction NONE: returns [B]."""

    def __init__(self, kind: str = "mse", name: str = "watch_ratio_loss"):
        super().__init__(reduction=_NONE, name=name)
        if kind not in ("mse", "bce"):
            raise ValueError(f"`kind` must be 'mse' or 'bce'. Received: kind={kind!r}")
        self.kind = kind

    def call(self, y_true, y_pred):
        if self.kind == "mse":
            return tf.square(y_true - y_pred)
        p = tf.clip_by_value(y_pred, EPS, 1 - EPS)
        return -(y_true * tf.math.log(p) + (1 - y_true) * tf.math.log(1 - p))

    def get_config(self):
        return {"kind": self.kind, "name": self.name}


class Task(tfrs.tasks.Ranking):
    """One task: its id (the model's head and mask index), names, loss weight, training rows,
    batch loss and offline metrics."""

    task_id: int = -1
    task_name: str = ""
    output_name: str = ""

    def __init__(self, loss: tf.keras.losses.Loss, loss_weight: float):
        super().__init__(loss=loss, name=f"{self.task_name}_task")
        self.loss_weight = float(loss_weight)

    def samples(self, click: np.ndarray, clicked_index: np.ndarray) -> np.ndarray:
        """Row indices of a split this task trains on (default: every impression)."""
        return np.arange(len(click), dtype=np.int32)

    def batch_loss(self, model, features, click: tf.Tensor, ratio: tf.Tensor) -> tf.Tensor:
        """Scalar loss of ``model``'s prediction for this task on one batch."""
        raise NotImplementedError

    def evaluate(self, click: np.ndarray, ratio: np.ndarray,
                 prediction: np.ndarray) -> Dict[str, float]:
        """This task's offline metrics on one split."""
        raise NotImplementedError


class ClickTask(Task):
    """CTR: log loss of pCTR against click, mean over the batch."""

    task_id, task_name, output_name = CTR, TASK_NAMES[CTR], OUTPUT_NAMES[CTR]

    def __init__(self, loss_weight: float = 1.0):
        super().__init__(tf.keras.losses.BinaryCrossentropy(reduction=_NONE), loss_weight)

    def batch_loss(self, model, features, click, ratio):
        pctr = model.task_output(features, CTR)
        return tf.reduce_mean(self(labels=click[:, None], predictions=pctr[:, None],
                                   compute_metrics=False))

    def evaluate(self, click, ratio, prediction):
        return ctr_metrics(click, prediction)


class WatchRatioTask(Task):
    """CVR: weighted watch-ratio loss over the batch's clicked rows, divided by their number:
    sum(clicked * w * l) / max(sum(clicked), 1), w the gradient-conflict weight. With ``esmm``,
    the loss of pCTR * pCVR against click * ratio over every row (w on clicked rows, else 1),
    mean over the batch."""

    task_id, task_name, output_name = CVR, TASK_NAMES[CVR], OUTPUT_NAMES[CVR]

    def __init__(self, config: LossConfig, esmm: bool = False):
        super().__init__(WatchRatioLoss(config.cvr_loss), config.cvr_weight)
        self.config = config
        self.esmm = esmm

    def samples(self, click, clicked_index):
        return np.arange(len(click), dtype=np.int32) if self.esmm else clicked_index

    def batch_loss(self, model, features, click, ratio):
        pcvr = model.task_output(features, CVR)
        if self.esmm:
            pctr = model.task_output(features, CTR)
            weights = tf.where(click > 0, cvr_sample_weights(ratio, self.config), 1.0)
            return tf.reduce_mean(self(labels=click * ratio, predictions=pctr * pcvr,
                                       sample_weight=weights, compute_metrics=False))
        weights = click * cvr_sample_weights(ratio, self.config)
        total = tf.reduce_sum(self(labels=ratio, predictions=pcvr, sample_weight=weights,
                                   compute_metrics=False))
        return total / tf.maximum(tf.reduce_sum(click), 1.0)

    def evaluate(self, click, ratio, prediction):
        return cvr_metrics(click, ratio, prediction)


def make_tasks(config: LT4RecConfig) -> Tuple[Task, ...]:
    """The configured task objects, indexed by task id (``make_tasks(c)[CVR].task_id == CVR``)."""
    tasks = (ClickTask(config.loss.ctr_weight), WatchRatioTask(config.loss, config.model.esmm))
    assert tuple(t.task_id for t in tasks) == TASKS
    return tasks
