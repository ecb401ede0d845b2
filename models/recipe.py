"""The training recipe after the masks are known, shared by every entry point.

``lt4rec train`` and the experiment runner (``models.run.train_variant``) and the pipeline's
SparseTrainer (``components/sparse_trainer``) all train, score and record a model through these
functions, so the number of epochs, the metrics and the run record mean the same everywhere:

* ``final_epochs``: a sparse variant trains ``trainer.epochs`` from theta (its warm-up epochs
  were spent before the mask search); a dense one trains ``warmup_epochs + epochs`` straight, so
  every variant sees the same number of epochs; a warm-started model trains ``epochs`` only.
* ``train_final``: one ``Trainer`` (fresh optimizers) over the train split.
* ``split_metrics``: predictions and the product's offline metrics on one split.
* ``write_record``: the run's ``metrics.json``.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from lt4rec.models.artifacts import METRICS_FILE
from lt4rec.models.config import LT4RecConfig
from lt4rec.models.data import Split
from lt4rec.models.ranker import MultiTaskRanker
from lt4rec.models.tasks import CTR, CVR, evaluate_predictions
from lt4rec.models.training import Trainer, predict

LOSS_CURVE_POINTS = 50


def final_epochs(config: LT4RecConfig, sparse: bool, warm_started: bool = False) -> float:
    """Epochs of final training (see the module docstring)."""
    if sparse or warm_started:
        return config.trainer.epochs
    return config.trainer.epochs + config.pruning.warmup_epochs


def loss_curve(step_losses, points: int = LOSS_CURVE_POINTS) -> list:
    """Per-step losses averaged over up to ``points`` consecutive equal windows (in order)."""
    if not step_losses:
        return []
    return [float(np.mean(w)) for w in np.array_split(np.asarray(step_losses, np.float64),
                                                       min(points, len(step_losses)))]


def train_final(model: MultiTaskRanker, config: LT4RecConfig, train: Split, seed: int,
                warm_started: bool = False, progress: Optional[Callable[[str], None]] = None,
                label: str = "training") -> Dict:
    """Final training of ``model`` (masks installed, if any) on ``train``.

    Returns:
      The run record's training fields: ``train_loss`` (mean loss per task), ``train_loss_curve``
      (task -> windowed step means), ``train_examples_per_s``, ``shared_gradients`` (per task:
      steps, summed gradient norms over the shared variables, summed learning rates).
    """
    trainer = Trainer(model, config, train, seed=seed)
    losses = trainer.fit(final_epochs(config, bool(model.masked_layers), warm_started),
                         progress=progress, label=label)
    return {"train_loss": losses,
            "train_examples_per_s": trainer.examples_seen / max(trainer.seconds, 1e-9),
            "train_loss_curve": {task: loss_curve(v) for task, v in trainer.step_losses.items()},
            "shared_gradients": trainer.shared_gradients}


def split_metrics(model: MultiTaskRanker, split: Split,
                  config: LT4RecConfig) -> Tuple[Dict[str, float], Dict[int, np.ndarray]]:
    """(metrics, predictions) of ``model`` on ``split``.

    Returns:
      metrics: ``evaluate_predictions`` (CTR AUC/log loss, CVR MSE on clicks, CTCVR AUC, counts);
      predictions: {CTR: [N], CVR: [N]} in the split's row order.
    """
    preds = predict(model, split, batch_size=config.trainer.eval_batch_size)
    return evaluate_predictions(split.click, split.ratio, preds[CTR], preds[CVR],
                                config.trainer.effective_view_ratio), preds


def write_record(out_dir: str, record: Dict) -> str:
    """Writes ``out_dir/metrics.json`` (floats of NumPy/TF types as plain floats)."""
    path = os.path.join(out_dir, METRICS_FILE)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2, default=float)
    return path
