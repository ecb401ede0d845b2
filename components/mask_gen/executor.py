"""MaskGen executor: Algorithm 1 on the day's examples, or reuse of the previous masks.

Masks are searched once and reused by later days: when ``previous_masks`` is given, was made
for the same features and architecture (``common.model_fingerprint``) and ``regenerate`` is 0,
its files are copied forward unchanged. Otherwise it runs ``models.lottery.search_masks`` with
the day's ``train`` split for training and its ``eval`` split for round selection, in-process
or, with ``train_workers`` > 1, on that many worker processes (``components.multi_worker_run``).
"""

import json
import os
import shutil

import tensorflow as tf
from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from lt4rec.components import common, hyperparameters
from lt4rec.components.common import SPAN_PROPERTY
from lt4rec.components.multi_worker_run import run_training, working_dir
from lt4rec.models import artifacts, lottery, plots
from lt4rec.models.distribution import make_strategy
from lt4rec.models.multi_worker import task_output_dir
from lt4rec.models.pruning import mask_statistics
from lt4rec.models.ranker import build_model
from lt4rec.models.tasks import TASK_NAMES

THETA_DIR = "theta"
CONFIG_FILE = "config.json"


def save_masks(model, search, config, out_dir: str) -> None:
    """Writes theta, the masks and the search records of a finished search."""
    model.set_weights(search.theta)
    model.save_weights(os.path.join(out_dir, THETA_DIR, "weights"))
    for t in search.picked:
        for layer, mask in zip(model.masked_layers, search.masks(t)):
            layer.set_task_mask(t, mask)
    artifacts.save_task_masks(out_dir, model.masked_layers, TASK_NAMES, search.picked)
    records = {"mask_search.json": search.to_dict(),
               "mask_statistics.json": mask_statistics(model.masked_layers),
               CONFIG_FILE: {"fingerprint": common.model_fingerprint(config),
                             "config": config.to_dict()}}
    for name, value in records.items():
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as fh:
            json.dump(value, fh, indent=2, default=float)
    plots.write_mask_figures(records["mask_search.json"], records["mask_statistics.json"],
                             out_dir, config.variant)


def load_theta(model, masks_dir: str) -> None:
    """Restores theta (every weight after warm-up) of a Masks artifact into ``model``."""
    model.load_weights(os.path.join(masks_dir, THETA_DIR, "weights")).expect_partial()


def apply_masks(model, masks_dir: str) -> None:
    """Installs both tasks' masks of a Masks artifact into ``model``'s sNET."""
    artifacts.load_task_masks(masks_dir, model.masked_layers, TASK_NAMES)


PLACEMENT_KNOBS = ("distribution", "tpu_address")
"""Trainer knobs that say where a search ran, not what it found (N replicas = one device)."""


def _search_knobs(config_dict: dict) -> dict:
    trainer = {k: v for k, v in config_dict.get("trainer", {}).items()
               if k not in PLACEMENT_KNOBS}
    return dict(config_dict, trainer=trainer)


def reusable(masks_dir: str, config, same_config: bool = False) -> bool:
    """Whether the masks under ``masks_dir`` fit ``config`` (same features and architecture;
    with ``same_config``, searched with exactly ``config``, e.g. tuned mask-search knobs,
    on whatever devices or workers)."""
    path = os.path.join(masks_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as fh:
        stored = json.load(fh)
    if same_config and _search_knobs(stored["config"]) != _search_knobs(
            json.loads(json.dumps(config.to_dict()))):
        return False
    return stored["fingerprint"] == common.model_fingerprint(config)


def search(input_dict, output_dict, exec_properties) -> dict:
    """Algorithm 1 on the day's examples; writes theta, masks and records to ``masks``.

    The training path of ``Executor.Do`` in-process and of each worker with ``train_workers``
    > 1 (``components.multi_worker_run``): a worker other than the chief writes under
    ``task_output_dir``.

    Returns:
      {} (nothing for the executor to record).
    """
    config = common.config_of(exec_properties["variant"], exec_properties.get("config_json"))
    strategy = make_strategy(config.trainer)  # multi_worker: before any TensorFlow op
    config = hyperparameters.tuned(config, input_dict.get("hyperparameters") or [])
    out = artifact_utils.get_single_instance(output_dict["masks"])
    train, evaluation, _ = common.load_splits(input_dict)
    seed = int(exec_properties.get("seed") or 0)
    tf.keras.utils.set_random_seed(seed)
    with strategy.scope():
        model = build_model(config, train.features)
        found = lottery.search_masks(model, config, train, evaluation, seed,
                                     progress=logging.info)
        save_masks(model, found, config, task_output_dir(out.uri))
    return {}


class Executor(base_executor.BaseExecutor):
    """See module docstring."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802
        # No TensorFlow op before ``search``: with TF_CONFIG set it creates the strategy first.
        config = common.config_of(exec_properties["variant"], exec_properties.get("config_json"))
        tuned = input_dict.get("hyperparameters") or []
        config = hyperparameters.tuned(config, tuned)
        out = artifact_utils.get_single_instance(output_dict["masks"])
        span = max(a.get_int_custom_property(SPAN_PROPERTY) for a in input_dict["examples"])
        out.set_int_custom_property(SPAN_PROPERTY, span)
        previous = input_dict.get("previous_masks") or []
        if previous and not exec_properties.get("regenerate") and reusable(
                previous[-1].uri, config, same_config=bool(tuned)):
            logging.info("MaskGen: reusing masks of %s", previous[-1].uri)
            shutil.copytree(previous[-1].uri, out.uri, dirs_exist_ok=True)
            out.set_int_custom_property("reused", 1)
            return
        run_training(search, input_dict, output_dict, exec_properties,
                     working_dir(self._context))
        out.set_int_custom_property("reused", 0)
