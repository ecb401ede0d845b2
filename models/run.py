"""One training run of one variant: the API behind ``lt4rec train`` and TFX's Trainer.

``train_variant`` = load validated logs with day splits -> build the configured model ->
(sparse variants) Algorithm 1 mask search -> final training -> metrics per split -> exports.
Every variant trains the same number of epochs over the training split: sparse variants get
``warmup_epochs`` before the mask search (theta) and ``epochs`` after it; the others train
``warmup_epochs + epochs`` straight.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import tensorflow as tf

from lt4rec.schemas.examples import encode_rows
from lt4rec.models import plots
from lt4rec.models.config import LT4RecConfig
from lt4rec.models.data import Dataset, load_dataset, transformed_split
from lt4rec.models.distribution import make_strategy
from lt4rec.models.export import export_models
from lt4rec.models.lottery import search_masks
from lt4rec.models.pruning import mask_statistics
from lt4rec.models.ranker import MultiTaskRanker, build_model
from lt4rec.models.tasks import CTR, CVR, TASK_NAMES, evaluate_predictions
from lt4rec.models.training import Trainer, predict

METRICS_FILE = "metrics.json"
TEST_PREDICTIONS_FILE = "test_predictions.npz"


def evaluate(model: MultiTaskRanker, dataset: Dataset, config: LT4RecConfig,
             predictions_path: Optional[str] = None) -> Dict[str, dict]:
    """Offline metrics per split (CTR AUC/log loss, CVR MSE on clicks, CTCVR AUC).

    With ``predictions_path``, also saves the test split's predictions there (npz: ``pctr``,
    ``pcvr``, ``click``, ``ratio``, each [N_test] in the split's row order).
    """
    out = {}
    for split in (dataset.train, dataset.validation, dataset.test):
        p = predict(model, split, batch_size=config.trainer.eval_batch_size)
        out[split.name] = dict(evaluate_predictions(split.click, split.ratio, p[CTR], p[CVR],
                                                    config.trainer.effective_view_ratio),
                               days=split.days)
        if predictions_path and split is dataset.test:
            np.savez_compressed(predictions_path, pctr=np.asarray(p[CTR], np.float32),
                                pcvr=np.asarray(p[CVR], np.float32), click=split.click,
                                ratio=split.ratio)
    return out


def loss_curve(step_losses, points: int = 50) -> list:
    """Per-step losses averaged over up to ``points`` consecutive equal windows (in order)."""
    if not step_losses:
        return []
    return [float(np.mean(w)) for w in np.array_split(np.asarray(step_losses, np.float64),
                                                       min(points, len(step_losses)))]


def train_variant(data, config: LT4RecConfig, out_dir: str, seed: int = 0,
                  progress: Optional[Callable[[str], None]] = None,
                  max_reject_fraction: float = 0.0,
                  save_test_predictions: bool = False) -> Dict:
    """Trains ``config.variant`` on ``data`` (a log dir or a loaded ``Dataset``); writes outputs.

    Writes under ``out_dir``: ``export/{pctr,pcvr,combined}`` SavedModels, ``metrics.json``
    (metrics per split, mask search rounds, mask statistics, export report, throughput) and,
    for sparse variants, ``pruning_curves.png`` and ``mask_overlap.png``; with
    ``save_test_predictions``, ``test_predictions.npz`` (see ``evaluate``).

    Returns:
      The dict written to ``metrics.json``.
    """
    say = progress or (lambda _msg: None)
    os.makedirs(out_dir, exist_ok=True)
    tf.keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    if isinstance(data, Dataset):
        dataset = data
    else:
        say(f"loading and validating logs under {data}")
        dataset = load_dataset(data, config.trainer, max_reject_fraction,
                               quarantine_dir=os.path.join(out_dir, "validation"))
    say(f"splits: train {dataset.train.days} ({dataset.train.size:,} rows), validation "
        f"{dataset.validation.days} ({dataset.validation.size:,}), test {dataset.test.days} "
        f"({dataset.test.size:,})")
    # Preprocess once (models/preprocess.py) rather than in every step of every epoch; the
    # exports still preprocess raw records in-graph with the same function.
    warmup = warmup_examples(dataset.test)
    dataset = dataclasses.replace(dataset, **{
        name: transformed_split(getattr(dataset, name), config.features)
        for name in ("train", "validation", "test")})
    with make_strategy(config.trainer).scope():
        return _train(config, dataset, out_dir, seed, say, progress, started, warmup,
                      save_test_predictions)


def warmup_examples(split, n: int = 64) -> List[bytes]:
    """The first ``n`` rows of a raw split as serialized tf.Examples: the exports' TF Serving
    warm-up requests (``serving.warmup``) are then real log records."""
    columns = {k: [x.decode("utf-8") if isinstance(x, bytes) else x
                   for x in v[:n].numpy().tolist()] for k, v in split.features.items()}
    return list(encode_rows(columns))


def _train(config, dataset, out_dir, seed, say, progress, started, warmup=None,
           save_test_predictions=False) -> Dict:
    """The body of ``train_variant``, inside the distribution strategy's scope."""
    model = build_model(config, dataset.train.features)
    result: Dict = {"variant": config.variant, "seed": seed, "config": config.to_dict(),
                    "data": dataset.accounting}
    epochs = config.trainer.epochs
    if model.masked_layers:
        search = search_masks(model, config, dataset.train, dataset.validation, seed, progress)
        result["mask_search"] = search.to_dict()
        result["mask_statistics"] = mask_statistics(model.masked_layers)
        np.savez_compressed(os.path.join(out_dir, "masks.npz"), **{
            f"{task}/{layer.name}": layer.task_mask(t)
            for t, task in enumerate(TASK_NAMES) for layer in model.masked_layers})
    else:
        epochs += config.pruning.warmup_epochs
    trainer = Trainer(model, config, dataset.train, seed=seed)
    result["train_loss"] = trainer.fit(epochs, progress=progress, label="training")
    result["train_examples_per_s"] = trainer.examples_seen / max(trainer.seconds, 1e-9)
    result["shared_gradients"] = trainer.shared_gradients  # steps, gradient norms per task
    result["train_loss_curve"] = {task: loss_curve(v) for task, v in trainer.step_losses.items()}
    say("evaluating")
    result["metrics"] = evaluate(model, dataset, config, os.path.join(
        out_dir, TEST_PREDICTIONS_FILE) if save_test_predictions else None)
    say("exporting SavedModels")
    result["export"] = export_models(model, os.path.join(out_dir, "export"),
                                     warmup_examples=warmup)
    if model.masked_layers:
        title = f"{config.variant} seed {seed}"
        plots.plot_pruning_curves(result["mask_search"],
                                  os.path.join(out_dir, "pruning_curves.png"), title)
        plots.plot_mask_overlap(result["mask_statistics"],
                                os.path.join(out_dir, "mask_overlap.png"), title)
    result["wall_seconds"] = time.perf_counter() - started
    with open(os.path.join(out_dir, METRICS_FILE), "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2, default=float)
    return result
