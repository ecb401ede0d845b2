"""SparseTrainer executor: the pipeline's Trainer, running the ``models/`` training code.

1. Build the configured model on the day's ``train`` split.
2. Sparse variants: load theta and both masks from the Masks artifact.
3. Warm start: when a ``base_model`` (the last pushed model) was trained with the same
   features and architecture, load its weights (then re-apply the current masks).
4. Train and score with ``models.recipe`` (what ``lt4rec train`` runs after its mask search)
   on Transform's outputs when given (else raw examples), score the ``eval`` split, export
   ``pctr/``, ``pcvr/`` and the combined model at ``Format-Serving/`` (what TFX's Evaluator
   and Pusher look for) with the Transform graph in front (they take raw records), and save
   the weights for tomorrow's warm start.

Steps 1-4 run in-process or, with ``train_workers`` > 1, on that many worker processes
(``components.multi_worker_run``).
"""

import json
import os

import tensorflow as tf
from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from lt4rec.components import common, hyperparameters
from lt4rec.components.mask_gen.executor import apply_masks, load_theta
from lt4rec.components.common import SPAN_PROPERTY
from lt4rec.components.multi_worker_run import run_training, working_dir
from lt4rec.models import recipe
from lt4rec.models.distribution import make_strategy
from lt4rec.models.export import COMBINED, export_models
from lt4rec.models.multi_worker import task_output_dir
from lt4rec.models.ranker import build_model

WEIGHTS_DIR = "weights"
SERVING_DIR = "Format-Serving"
FINGERPRINT_FILE = "fingerprint.json"


def _warm_start(model, base_uri: str, fingerprint: str) -> bool:
    path = os.path.join(base_uri, FINGERPRINT_FILE)
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as fh:
        if json.load(fh)["fingerprint"] != fingerprint:
            logging.warning("SparseTrainer: base model %s has another shape; not warm-starting",
                            base_uri)
            return False
    model.load_weights(os.path.join(base_uri, WEIGHTS_DIR, "weights")).expect_partial()
    return True


def _initial_model(config, train, masks, base):
    """theta + masks (sparse variants), then the base model's weights if compatible.

    Returns:
      (model, warm_started).
    """
    model = build_model(config, train.features)
    if model.masked_layers:
        if not masks:
            raise ValueError(f"variant {config.variant!r} needs a Masks artifact (MaskGen).")
        load_theta(model, masks[-1].uri)
    warm = bool(base) and _warm_start(model, base[-1].uri, common.model_fingerprint(config))
    if model.masked_layers:  # after any warm start, whose checkpoint holds older masks
        apply_masks(model, masks[-1].uri)
    return model, warm


def _write_model(model, out_uri: str, config, record: dict, transform=None) -> None:
    """Exports, the Format-Serving copy for TFX, weights for warm starts, metrics.json."""
    record["export"] = export_models(model, out_uri, transform_output=transform)
    os.replace(os.path.join(out_uri, COMBINED), os.path.join(out_uri, SERVING_DIR))
    model.save_weights(os.path.join(out_uri, WEIGHTS_DIR, "weights"))
    with open(os.path.join(out_uri, FINGERPRINT_FILE), "w", encoding="utf-8") as fh:
        json.dump({"fingerprint": common.model_fingerprint(config)}, fh)
    recipe.write_record(out_uri, record)


def train(input_dict, output_dict, exec_properties) -> dict:
    """Steps 1-4 of the module docstring into the ``model`` output.

    The training path of ``Executor.Do`` in-process and of each worker with ``train_workers``
    > 1 (``components.multi_worker_run``): a worker other than the chief writes under
    ``task_output_dir``.

    Returns:
      {"warm_started": bool, "eval": the eval split's metrics}.
    """
    config = common.config_of(exec_properties["variant"], exec_properties.get("config_json"))
    strategy = make_strategy(config.trainer)  # multi_worker: before any TensorFlow op
    config = hyperparameters.tuned(config, input_dict.get("hyperparameters"))
    seed = int(exec_properties.get("seed") or 0)
    tf.keras.utils.set_random_seed(seed)
    train_split, evaluation, _ = common.load_splits(input_dict)
    out = artifact_utils.get_single_instance(output_dict["model"])
    with strategy.scope():
        model, warm = _initial_model(config, train_split, input_dict.get("masks") or [],
                                     input_dict.get("base_model") or [])
        fitted = recipe.train_final(model, config, train_split, seed, warm_started=warm,
                                    progress=logging.info, label="SparseTrainer")
        metrics, _ = recipe.split_metrics(model, evaluation, config)
        _write_model(model, task_output_dir(out.uri), config, dict(
            {"variant": config.variant, "config": config.to_dict(), "warm_started": warm,
             "inputs": "transformed" if input_dict.get("transform_graph") else "raw",
             "train_spans": train_split.days, "train_rows": train_split.size,
             "eval": metrics}, **fitted), common.transform_output(input_dict))
    return {"warm_started": warm, "eval": metrics}


class Executor(base_executor.BaseExecutor):
    """See module docstring."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802
        # No TensorFlow op before ``train``: with TF_CONFIG set it creates the strategy first.
        span = max(a.get_int_custom_property(SPAN_PROPERTY) for a in input_dict["examples"])
        result = run_training(train, input_dict, output_dict, exec_properties,
                              working_dir(self._context))
        out = artifact_utils.get_single_instance(output_dict["model"])
        out.set_int_custom_property("warm_started", int(result["warm_started"]))
        out.set_int_custom_property(SPAN_PROPERTY, span)
        logging.info("SparseTrainer: eval %s (warm start: %s)", result["eval"],
                     result["warm_started"])
