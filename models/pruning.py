"""Magnitude pruning of sNET masks, per-round sparsity schedules, and mask statistics.

Per-round sparsity comes from a tfmot ``PruningSchedule`` evaluated at step = round index, so
users configure it as tfmot users do: ``PolynomialDecay``, ``ConstantSparsity``, or
``GeometricSparsity`` (below), which prunes the q-quantile of the *remaining* weights each
round (s_r = 1 - (1 - q)^r), the papers' iterative pruning.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_schedule

from lt4rec.models.config import PruningConfig
from lt4rec.models.importance import unit_scores
from lt4rec.models.layers import MaskedDense
from lt4rec.models.tasks import TASK_NAMES


class GeometricSparsity(pruning_schedule.PruningSchedule):
    """Sparsity 1 - (1 - q)^(step - begin_step + 1) from ``begin_step`` on (tfmot interface).

    Each pruning step removes the ``q`` fraction of the weights still kept.
    """

    def __init__(self, q: float, begin_step: int = 1, end_step: int = -1, frequency: int = 1):
        self._validate_step(begin_step, end_step, frequency, allow_negative_1=True)
        self._validate_sparsity(q, "q")
        self.q, self.begin_step, self.end_step, self.frequency = q, begin_step, end_step, frequency

    def __call__(self, step):
        step = tf.cast(step, tf.int64)
        n = tf.cast(tf.maximum(step - self.begin_step + 1, 0), tf.float32)
        sparsity = 1.0 - tf.pow(1.0 - self.q, n)
        should = self._should_prune_in_step(step, self.begin_step, self.end_step, self.frequency)
        return should, sparsity

    def get_config(self):
        return {"class_name": self.__class__.__name__,
                "config": {"q": self.q, "begin_step": self.begin_step,
                           "end_step": self.end_step, "frequency": self.frequency}}


def make_schedule(config: PruningConfig) -> pruning_schedule.PruningSchedule:
    """The tfmot schedule of ``config.schedule``; step r = pruning round r (round 0 unpruned)."""
    last = max(config.rounds - 1, 1)
    if config.schedule == "geometric":
        return GeometricSparsity(config.q, begin_step=1, end_step=last, frequency=1)
    if config.schedule == "polynomial":
        return pruning_schedule.PolynomialDecay(0.0, config.final_sparsity, begin_step=0,
                                                end_step=last, frequency=1)
    return pruning_schedule.ConstantSparsity(config.final_sparsity, begin_step=1, end_step=last,
                                             frequency=1)


def round_sparsities(config: PruningConfig) -> List[float]:
    """Target sparsity of each round's mask; round 0 is 0 (the unpruned net)."""
    schedule = make_schedule(config)
    out = [0.0]
    for r in range(1, config.rounds):
        should, sparsity = schedule(tf.constant(r, tf.int64))
        out.append(float(sparsity) if bool(should) else out[-1])
    return out


def prune(layers: Sequence[MaskedDense], masks: Sequence[np.ndarray], target: float,
          scope: str = "layer", importance: str = "magnitude",
          theta_kernels: Optional[Sequence[np.ndarray]] = None) -> List[np.ndarray]:
    """Masks pruned to ``target`` sparsity by importance, never reviving a pruned entry.

    Args:
      layers: sNET's mask layers, holding the trained weights to rank.
      masks: the current 0/1 masks, one per layer (shapes of ``MaskedDense.task_mask``).
      target: fraction of entries to be zero afterwards (per layer, or over all layers when
        ``scope`` is "global").
      importance: ``PruningConfig.importance`` (``models/importance.py``).
      theta_kernels: each layer's kernel at theta (needed unless importance is magnitude).
    Returns:
      New masks; entries already zero stay zero, the least important kept entries are zeroed.
    """
    thetas = list(theta_kernels) if theta_kernels is not None else [None] * len(layers)
    scores = [np.where(m > 0, unit_scores(l.kernel.numpy(), t, importance, l.mask_type), -np.inf)
              for l, m, t in zip(layers, masks, thetas)]
    groups = [[i] for i in range(len(layers))] if scope == "layer" else [list(range(len(layers)))]
    new = [m.copy() for m in masks]
    for group in groups:
        flat = np.concatenate([scores[i].ravel() for i in group])
        n_zero = int(round(target * flat.size))
        already = int(np.isinf(flat).sum())
        extra = n_zero - already
        if extra <= 0:
            continue
        # Stable order so ties break by position, deterministically.
        cut = np.argsort(flat, kind="stable")[:n_zero]
        keep = np.ones(flat.size, np.float32)
        keep[cut] = 0.0
        offset = 0
        for i in group:
            size = masks[i].size
            new[i] = keep[offset:offset + size].reshape(masks[i].shape) * masks[i]
            offset += size
    return new


def sparsity(masks: Sequence[np.ndarray]) -> float:
    """Fraction of zero entries over all masks."""
    total = sum(m.size for m in masks)
    return float(sum((m == 0).sum() for m in masks) / max(total, 1))


def mask_statistics(layers: Sequence[MaskedDense]) -> List[Dict[str, object]]:
    """Per layer, the papers' Fig. 3 counts: kept per task, shared, task-only, pruned by both."""
    stats = []
    for layer in layers:
        ctr, cvr = (layer.task_mask(t) > 0 for t in range(2))
        total = int(ctr.size)
        row = {"layer": layer.name, "mask_type": layer.mask_type, "entries": total,
               f"kept_{TASK_NAMES[0]}": int(ctr.sum()), f"kept_{TASK_NAMES[1]}": int(cvr.sum()),
               "shared": int((ctr & cvr).sum()), f"{TASK_NAMES[0]}_only": int((ctr & ~cvr).sum()),
               f"{TASK_NAMES[1]}_only": int((~ctr & cvr).sum()),
               "pruned_by_both": int((~ctr & ~cvr).sum())}
        union = max(row["shared"] + row[f"{TASK_NAMES[0]}_only"] + row[f"{TASK_NAMES[1]}_only"], 1)
        row["overlap_of_kept"] = row["shared"] / union
        stats.append(row)
    return stats
