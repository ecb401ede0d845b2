"""The task objects' losses and the offline metrics, on values checkable by hand."""

import lt4rec  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)

import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_recommenders as tfrs

from lt4rec.models.config import LossConfig, make_config
from lt4rec.models.metrics import auc, evaluate_predictions
from lt4rec.models.tasks import (CTR, CVR, TASKS, ClickTask, WatchRatioLoss, WatchRatioTask,
                                 make_tasks)


class _Fixed:
    """A stand-in model whose task outputs are fixed tensors."""

    def __init__(self, pctr, pcvr):
        self.outputs = {CTR: tf.constant(pctr, tf.float32), CVR: tf.constant(pcvr, tf.float32)}

    def task_output(self, features, task):
        return self.outputs[task]


def _f(values):
    return tf.constant(values, tf.float32)


def test_tasks_are_tfrs_ranking_tasks_indexed_by_task_id():
    tasks = make_tasks(make_config("sparse_weight"))
    assert tuple(t.task_id for t in tasks) == TASKS
    assert all(isinstance(t, tfrs.tasks.Ranking) for t in tasks)


def test_click_loss_is_the_mean_log_loss():
    model = _Fixed([0.5, 0.25], [0.0, 0.0])
    loss = ClickTask().batch_loss(model, {}, _f([1.0, 0.0]), _f([0.0, 0.0]))
    assert float(loss) == pytest.approx((math.log(2) - math.log(0.75)) / 2, rel=1e-5)


def test_watch_ratio_loss_averages_over_clicked_rows_only():
    # clicked rows: (0.5 - 0.25)^2 = 0.0625 and (1.0 - 0.5)^2 = 0.25; the unclicked row with a
    # huge error does not count; divided by 2 clicks, not the batch of 3.
    model = _Fixed([0.0] * 3, [0.25, 0.5, 0.9])
    task = WatchRatioTask(LossConfig())
    loss = task.batch_loss(model, {}, _f([1.0, 1.0, 0.0]), _f([0.5, 1.0, -5.0]))
    assert float(loss) == pytest.approx((0.0625 + 0.25) / 2)


def test_conflict_weight_scales_barely_watched_clicks():
    config = LossConfig(conflict_ratio=0.3, conflict_weight=3.0)
    model = _Fixed([0.0] * 2, [0.5, 0.5])
    loss = WatchRatioTask(config).batch_loss(model, {}, _f([1.0, 1.0]), _f([0.1, 0.9]))
    assert float(loss) == pytest.approx((3.0 * 0.16 + 1.0 * 0.16) / 2)


def test_a_batch_without_clicks_has_zero_cvr_loss():
    model = _Fixed([0.0] * 2, [0.3, 0.7])
    loss = WatchRatioTask(LossConfig()).batch_loss(model, {}, _f([0.0, 0.0]), _f([0.0, 0.0]))
    assert float(loss) == 0.0


def test_esmm_loss_is_ctcvr_over_every_row():
    # targets click * ratio = [0.5, 0]; predictions pctr * pcvr = [0.25, 0.25]
    model = _Fixed([0.5, 0.5], [0.5, 0.5])
    task = WatchRatioTask(LossConfig(), esmm=True)
    loss = task.batch_loss(model, {}, _f([1.0, 0.0]), _f([0.5, 0.7]))
    assert float(loss) == pytest.approx((0.0625 + 0.0625) / 2)
    assert list(task.samples(np.array([1, 0, 1]), np.array([0, 2]))) == [0, 1, 2]
    assert list(WatchRatioTask(LossConfig()).samples(np.array([1, 0, 1]),
                                                     np.array([0, 2]))) == [0, 2]


def test_soft_label_loss_is_the_log_loss_of_the_ratio():
    loss = WatchRatioLoss("bce")(_f([0.5]), _f([0.5]))
    assert float(loss[0]) == pytest.approx(math.log(2), rel=1e-5)
    with pytest.raises(ValueError, match="kind"):
        WatchRatioLoss("hinge")


def test_auc_counts_ties_as_half_and_is_nan_without_both_classes():
    assert auc([0, 1, 0, 1], [0.1, 0.9, 0.5, 0.5]) == 0.875
    assert auc([0, 0, 1], [0.1, 0.2, 0.3]) == 1.0
    assert math.isnan(auc([1, 1], [0.1, 0.2]))


def test_evaluate_predictions_by_hand():
    click = np.array([1, 0, 1, 0])
    ratio = np.array([0.8, 0.0, 0.2, 0.0])
    pctr = np.array([0.9, 0.1, 0.6, 0.4])
    pcvr = np.array([0.7, 0.9, 0.4, 0.1])
    out = evaluate_predictions(click, ratio, pctr, pcvr, effective_view_ratio=0.5)
    assert out["impressions"] == 4 and out["clicks"] == 2
    assert out["ctr_auc"] == 1.0
    assert out["ctr_logloss"] == pytest.approx(
        -(math.log(0.9) + math.log(0.9) + math.log(0.6) + math.log(0.6)) / 4)
    assert out["cvr_mse"] == pytest.approx((0.01 + 0.04) / 2)  # clicked rows only
    # positive class: clicked with ratio >= 0.5 = row 0 only; its pctr*pcvr 0.63 is the highest
    assert out["ctcvr_auc"] == 1.0


def test_evaluate_predictions_of_one_task_leaves_the_other_out():
    out = evaluate_predictions(np.array([1, 0]), np.array([0.5, 0]), np.array([0.7, 0.2]),
                               None, 0.5)
    assert "ctr_auc" in out and "cvr_mse" not in out and "ctcvr_auc" not in out


def _previous_losses(click, ratio, pctr, pcvr, config):
    """The loss functions as they were before the task objects (models/tasks.py of issue 11)."""
    def pointwise(r, p, kind):
        if kind == "mse":
            return tf.square(r - p)
        p = tf.clip_by_value(p, 1e-7, 1 - 1e-7)
        return -(r * tf.math.log(p) + (1 - r) * tf.math.log(1 - p))
    conflict = tf.where(ratio < config.conflict_ratio, config.conflict_weight, 1.0)
    ctr = tf.reduce_mean(tf.keras.losses.binary_crossentropy(click[:, None], pctr[:, None]))
    cvr = (tf.reduce_sum(click * conflict * pointwise(ratio, pcvr, config.cvr_loss))
           / tf.maximum(tf.reduce_sum(click), 1.0))
    ctcvr = tf.reduce_mean(tf.where(click > 0, conflict, 1.0)
                           * pointwise(click * ratio, pctr * pcvr, config.cvr_loss))
    return ctr, cvr, ctcvr


@pytest.mark.parametrize("kind", ["mse", "bce"])
def test_task_losses_equal_the_previous_loss_functions_exactly(kind):
    rng = np.random.default_rng(3)
    click = _f(rng.integers(0, 2, 256))
    ratio = _f(rng.uniform(size=256)) * click
    pctr, pcvr = rng.uniform(size=256), rng.uniform(size=256)
    config = LossConfig(cvr_loss=kind, conflict_ratio=0.2, conflict_weight=2.0)
    model = _Fixed(pctr, pcvr)
    want = _previous_losses(click, ratio, model.outputs[CTR], model.outputs[CVR], config)
    got = (ClickTask().batch_loss(model, {}, click, ratio),
           WatchRatioTask(config).batch_loss(model, {}, click, ratio),
           WatchRatioTask(config, esmm=True).batch_loss(model, {}, click, ratio))
    assert [float(g) for g in got] == [float(w) for w in want]
