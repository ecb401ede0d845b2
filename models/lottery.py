"""Algorithm 1: lottery-ticket mask search for each task, with rewinding.

(a) Warm up sNET on mixed CTR/CVR batches -> theta (every weight: embeddings, sNET, heads).
(b) For each task t, starting from an all-ones mask, for round r = 0 .. n-1:
      rewind every weight to theta; train ``round_epochs`` (papers: one) epochs on t's
      samples under the current mask (fresh optimizer, ``round_learning_rate``); score the
      round on the *validation* split (CTR AUC / CVR MSE); prune to the schedule's sparsity
      of round r + 1 by ``importance`` (papers: the trained |weights|; see
      ``models/importance.py``).
    Round r's record is the mask it trained under, its validation score and how far it moved
    the weights from theta; the pick is automatic (``pick_round``: ``PruningConfig.pick``).
(c) The caller rewinds to theta, installs both picked masks and trains jointly
    (``models/training.py``).

Only train and validation splits reach this module: selection can never read test.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from lt4rec.models import pruning
from lt4rec.models.config import LT4RecConfig, PruningConfig
from lt4rec.models.data import Split
from lt4rec.models.ranker import MultiTaskRanker
from lt4rec.models.tasks import CTR, TASK_NAMES, TASKS, evaluate_predictions
from lt4rec.models.training import Trainer, predict

METRIC = {CTR: ("ctr_auc", True), 1: ("cvr_mse", False)}  # task -> (metric, higher is better)


@dataclasses.dataclass
class Round:
    """One pruning round of one task."""
    round: int
    target_sparsity: float
    sparsity: float
    metric: str
    validation: float
    masks: List[np.ndarray] = dataclasses.field(repr=False)
    seconds: float = 0.0  # wall time of the round: rewind, training, validation, pruning
    # ||w_round - theta|| / ||theta|| after the round's training, over sNET's kernels
    # ("snet") and over every trainable weight ("all"): how far the task moved from theta.
    movement: Dict[str, float] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"round": self.round, "target_sparsity": self.target_sparsity,
                "sparsity": self.sparsity, "metric": self.metric, "validation": self.validation,
                "seconds": self.seconds, "movement": dict(self.movement)}


@dataclasses.dataclass
class MaskSearch:
    """Result of Algorithm 1: theta, each task's rounds and pick, the final masks."""
    theta: List[np.ndarray] = dataclasses.field(repr=False)
    rounds: Dict[int, List[Round]]
    picked: Dict[int, int]
    seconds: float
    warmup_seconds: float = 0.0  # step (a), part of ``seconds``

    def masks(self, task: int) -> List[np.ndarray]:
        return self.rounds[task][self.picked[task]].masks

    def round_overlap(self) -> List[dict]:
        """Per round, the Jaccard of the two tasks' masks *at the same sparsity* (that round's
        masks), per layer and over all layers: what the criterion alone makes the tasks share,
        apart from which rounds the picks take (a denser pick often contains a sparser one)."""
        out = []
        tasks = sorted(self.rounds)
        for r in range(min(len(self.rounds[t]) for t in tasks)):
            a, b = (self.rounds[t][r].masks for t in tasks[:2])
            per_layer = [_jaccard(x, y) for x, y in zip(a, b)]
            both = sum(float(np.sum((x > 0) & (y > 0))) for x, y in zip(a, b))
            either = sum(float(np.sum((x > 0) | (y > 0))) for x, y in zip(a, b))
            out.append({"round": r, "sparsity": self.rounds[tasks[0]][r].sparsity,
                        "jaccard": both / either if either else 1.0,
                        "jaccard_per_layer": per_layer})
        return out

    def to_dict(self) -> dict:
        return {"seconds": self.seconds, "warmup_seconds": self.warmup_seconds,
                "tasks": {TASK_NAMES[t]: {"picked_round": self.picked[t],
                                          "rounds": [r.to_dict() for r in self.rounds[t]]}
                          for t in self.rounds},
                "round_overlap": self.round_overlap() if len(self.rounds) > 1 else []}


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|kept by both| / |kept by either| of two 0/1 masks (1 when neither keeps anything)."""
    either = float(np.sum((a > 0) | (b > 0)))
    return float(np.sum((a > 0) & (b > 0))) / either if either else 1.0


def select_round(scores: Sequence[float], sparsities: Sequence[float], higher_is_better: bool,
                 tolerance: float, min_sparsity: float = 0.0) -> int:
    """Index of the sparsest round whose score is within ``tolerance`` (relative) of the best.

    When ``min_sparsity`` > 0, only rounds at least that sparse are eligible (if any is);
    "best" is then the best eligible round. Ties in sparsity go to the better score.
    """
    if len(scores) != len(sparsities) or not scores:
        raise ValueError(f"need one score per round. Received: {len(scores)} scores, "
                         f"{len(sparsities)} sparsities")
    idx = list(range(len(scores)))
    eligible = [i for i in idx if sparsities[i] >= min_sparsity - 1e-9] or idx
    finite = [i for i in eligible if np.isfinite(scores[i])] or eligible
    sign = 1.0 if higher_is_better else -1.0
    best = max(finite, key=lambda i: sign * scores[i])
    margin = tolerance * abs(scores[best])
    close = [i for i in finite if sign * (scores[best] - scores[i]) <= margin + 1e-12]
    return max(close, key=lambda i: (sparsities[i], sign * scores[i]))


def pick_round(scores: Sequence[float], sparsities: Sequence[float], higher_is_better: bool,
               config: PruningConfig) -> int:
    """The round a task keeps under ``config.pick``.

    ``sparsest_within_tolerance``: ``select_round`` with ``config.tolerance``; ``best``: the
    best score (``select_round`` with tolerance 0); ``fixed``: ``config.pick_round``. The
    first two keep ``config.min_sparsity``.
    """
    if config.pick == "fixed":
        return config.pick_round
    tolerance = config.tolerance if config.pick == "sparsest_within_tolerance" else 0.0
    return select_round(scores, sparsities, higher_is_better, tolerance, config.min_sparsity)


def relative_movement(weights: Sequence[np.ndarray], theta: Sequence[np.ndarray]) -> float:
    """||w - theta|| / ||theta|| over all given arrays together (0 when theta is all zero)."""
    diff = sum(float(np.sum((np.asarray(w, np.float64) - t) ** 2)) for w, t in zip(weights, theta))
    base = sum(float(np.sum(np.asarray(t, np.float64) ** 2)) for t in theta)
    return float(np.sqrt(diff / base)) if base > 0 else 0.0


def _weight_positions(model: MultiTaskRanker, variables) -> List[int]:
    """Positions of ``variables`` in ``model.weights`` (the order of ``get_weights``)."""
    where = {id(v): i for i, v in enumerate(model.weights)}
    return [where[id(v)] for v in variables]


def _movement(model: MultiTaskRanker, theta: Sequence[np.ndarray], snet: List[int],
              trainable: List[int]) -> Dict[str, float]:
    now = model.get_weights()
    return {name: relative_movement([now[i] for i in idx], [theta[i] for i in idx])
            for name, idx in (("snet", snet), ("all", trainable))}


def _round_config(config: LT4RecConfig) -> LT4RecConfig:
    """``config`` with the trainer's learning rate replaced by ``round_learning_rate``."""
    lr = config.pruning.round_learning_rate
    if lr is None:
        return config
    return dataclasses.replace(config, trainer=dataclasses.replace(config.trainer,
                                                                   learning_rate=lr))


def _set_masks(model: MultiTaskRanker, task: int, masks: Sequence[np.ndarray]) -> None:
    for layer, mask in zip(model.masked_layers, masks):
        layer.set_task_mask(task, mask)


def validation_score(model: MultiTaskRanker, split: Split, task: int,
                     config: LT4RecConfig) -> float:
    """Task's selection metric on ``split`` (CTR AUC over impressions, CVR MSE over clicks)."""
    preds = predict(model, split, tasks=[task], batch_size=config.trainer.eval_batch_size)
    metrics = evaluate_predictions(split.click, split.ratio,
                                   preds[task] if task == CTR else None,
                                   preds[task] if task != CTR else None,
                                   config.trainer.effective_view_ratio)
    return metrics[METRIC[task][0]]


def search_masks(model: MultiTaskRanker, config: LT4RecConfig, train: Split,
                 validation: Split, seed: int = 0,
                 progress: Optional[Callable[[str], None]] = None) -> MaskSearch:
    """Runs Algorithm 1 (a) and (b) on a sparse-variant model; leaves it at theta, masks set.

    Raises:
      ValueError: the model has no mask layers (not a sparse variant).
    """
    if not model.masked_layers:
        raise ValueError(f"variant {config.variant!r} has no masks to search "
                         f"(sharing={config.model.sharing!r}).")
    start = time.perf_counter()
    say = progress or (lambda _msg: None)
    cfg = config.pruning
    layers = model.masked_layers
    ones = [np.ones_like(l.task_mask(0)) for l in layers]
    for t in TASKS:
        _set_masks(model, t, ones)
    Trainer(model, config, train, seed=seed, mode="alternate").fit(
        cfg.warmup_epochs, progress=progress, label="mask search: warm-up")
    warmup_seconds = time.perf_counter() - start
    theta = [w.copy() for w in model.get_weights()]
    snet_idx = _weight_positions(model, [l.kernel for l in layers])
    trainable_idx = _weight_positions(model, model.trainable_weights)
    theta_kernels = [theta[i] for i in snet_idx]
    targets = pruning.round_sparsities(cfg)
    rounds: Dict[int, List[Round]] = {}
    picked: Dict[int, int] = {}
    for task in TASKS:
        masks = ones
        rounds[task] = []
        name, higher = METRIC[task]
        trainer = Trainer(model, _round_config(config), train, mode="alternate")
        for r, target in enumerate(targets):
            round_start = time.perf_counter()
            model.set_weights(theta)
            _set_masks(model, task, masks)
            trainer.reset(seed=seed + 1000 * (task + 1) + r)  # a fresh optimizer each round
            trainer.fit(cfg.round_epochs, tasks=[task])
            score = validation_score(model, validation, task, config)
            rounds[task].append(Round(r, target, pruning.sparsity(masks), name, score,
                                      [m.copy() for m in masks],
                                      movement=_movement(model, theta, snet_idx, trainable_idx)))
            say(f"mask search: {TASK_NAMES[task]} round {r + 1}/{len(targets)} sparsity "
                f"{pruning.sparsity(masks):.3f} validation {name} {score:.5f}")
            if r + 1 < len(targets):
                masks = pruning.prune(layers, masks, targets[r + 1], cfg.scope, cfg.importance,
                                      theta_kernels)
            rounds[task][-1].seconds = time.perf_counter() - round_start
        picked[task] = pick_round([x.validation for x in rounds[task]],
                                  [x.sparsity for x in rounds[task]], higher, cfg)
        say(f"mask search: {TASK_NAMES[task]} picks round {picked[task] + 1} "
            f"(sparsity {rounds[task][picked[task]].sparsity:.3f})")
    model.set_weights(theta)
    result = MaskSearch(theta, rounds, picked, time.perf_counter() - start, warmup_seconds)
    for task in TASKS:
        _set_masks(model, task, result.masks(task))
    return result
