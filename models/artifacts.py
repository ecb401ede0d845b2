"""The files one training run writes, and the one codec of ``masks.npz``.

NumPy only (no TensorFlow), so the experiment harness and the CLI read a run's outputs without
importing the model stack. ``lt4rec train`` / the experiment runner (``models.run``) and the
pipeline's MaskGen/SparseTrainer (``components/``) all write and read masks through here.

``masks.npz`` holds one array per (task, masked layer), key ``"{task_name}/{layer_name}"``,
each the layer kernel's 0/1 mask (same shape as the kernel).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

METRICS_FILE = "metrics.json"
TEST_PREDICTIONS_FILE = "test_predictions.npz"
MASKS_FILE = "masks.npz"


def mask_key(task_name: str, layer_name: str) -> str:
    """The npz key of one task's mask of one layer."""
    return f"{task_name}/{layer_name}"


def save_task_masks(out_dir: str, layers: Sequence, task_names: Sequence[str],
                    tasks: Sequence[int]) -> str:
    """Writes ``out_dir/masks.npz``: each layer's installed mask of each task in ``tasks``.

    Args:
      layers: masked layers (``MaskedDense``-like: ``name``, ``task_mask(t)``).
      task_names: name of each task id (``models.tasks.TASK_NAMES``).
      tasks: the task ids to write.
    Returns:
      The path written.
    """
    path = os.path.join(out_dir, MASKS_FILE)
    np.savez_compressed(path, **{mask_key(task_names[t], layer.name): layer.task_mask(t)
                                 for t in tasks for layer in layers})
    return path


def load_task_masks(out_dir: str, layers: Sequence, task_names: Sequence[str]) -> None:
    """Installs every task's mask of ``out_dir/masks.npz`` into ``layers``.

    Raises:
      KeyError: the file lacks a (task, layer) mask (it was written for another model).
    """
    with np.load(os.path.join(out_dir, MASKS_FILE)) as saved:
        missing = [mask_key(task_names[t], layer.name) for t in range(len(task_names))
                   for layer in layers if mask_key(task_names[t], layer.name) not in saved]
        if missing:
            raise KeyError(f"{os.path.join(out_dir, MASKS_FILE)} lacks masks {missing}; it "
                           f"holds {sorted(saved.files)}")
        for t, task in enumerate(task_names):
            for layer in layers:
                layer.set_task_mask(t, saved[mask_key(task, layer.name)])
