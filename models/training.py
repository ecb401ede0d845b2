"""Training loops shared by warm-up, mask search and final training.

Two modes (``TrainerConfig.mode``):

* ``alternate`` (the papers' Algorithm 1, step c): each step takes one task's batch (CTR:
  any impressions; CVR: clicked impressions) and runs it through that task's mask, with that
  task's *own* optimizer. A weight masked out for task t gets an exactly-zero gradient from
  task t (the mask multiplies it in the graph), so task t's Adam moments for it stay zero from
  the (fresh) start and Adam's update ``lr * m / (sqrt(v) + eps)`` is exactly 0: task t never
  moves it. A shared optimizer would not guarantee this: momentum built up by the other task
  would keep moving the weight on task t's steps. Loss weights (a, b) scale each task's
  learning rate here, since Adam is invariant to a constant scale of its loss.
* ``joint``: each step takes one batch of impressions and minimises a * L_ctr + b * L_cvr (CVR
  on the batch's clicked rows), both through their masks, with one optimizer. A weight masked
  for both tasks never moves; one masked for only one task moves by the other task's gradient
  alone.

Batches are index vectors gathered from the split's in-memory tensors inside the compiled step.

Gradient balance (issue 12): every step also returns the global norm of its loss gradient over
the model's *shared* variables (``MultiTaskRanker.shared_variables``: shared embeddings and
sNET / shared experts), computed on the gradients the step already has; ``fit`` sums, per task,
the steps, those norms and the learning rates the steps ran with (``shared_gradients``).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from lt4rec.models.config import LT4RecConfig
from lt4rec.models.data import Split
from lt4rec.models.ranker import MultiTaskRanker
from lt4rec.models.tasks import TASK_NAMES, TASKS, make_tasks

Progress = Optional[Callable[[str], None]]


class Trainer:
    """Trains a ``MultiTaskRanker`` on one split; optimizers are created fresh per Trainer."""

    def __init__(self, model: MultiTaskRanker, config: LT4RecConfig, split: Split,
                 seed: int = 0, mode: Optional[str] = None):
        self.model = model
        self.config = config
        self.split = split
        self.mode = mode or config.trainer.mode
        self.rng = np.random.default_rng(seed)
        self.tasks = make_tasks(config)
        lr = config.trainer.learning_rate
        weights = [task.loss_weight for task in self.tasks]
        if self.mode == "alternate":
            top = max(max(weights), 1e-12)
            self._learning_rates = [lr * w / top for w in weights]
        else:
            self._learning_rates = [lr]
        self.optimizers = [tf.keras.optimizers.Adam(rate) for rate in self._learning_rates]
        self._click = tf.constant(split.click)
        self._ratio = tf.constant(split.ratio)
        self._steps = {}
        self.examples_seen = 0
        shared = {id(v) for v in model.shared_variables}
        self._shared_positions = [i for i, v in enumerate(model.trainable_variables)
                                  if id(v) in shared]
        self.shared_gradients: Dict[str, Dict[str, float]] = {}

    # --- losses ----------------------------------------------------------------------
    def _gather(self, idx):
        return ({k: tf.gather(v, idx) for k, v in self.split.features.items()},
                tf.gather(self._click, idx), tf.gather(self._ratio, idx))

    def task_loss(self, feats, click, ratio, task: int) -> tf.Tensor:
        """Task ``task``'s loss on a batch (its task object's; ESMM trains CVR through pCTCVR
        on all rows)."""
        return self.tasks[task].batch_loss(self.model, feats, click, ratio)

    def _loss(self, idx, task: Optional[int]) -> tf.Tensor:
        feats, click, ratio = self._gather(idx)
        if task is not None:
            return self.task_loss(feats, click, ratio, task)
        terms = [t.loss_weight * self.task_loss(feats, click, ratio, t.task_id)
                 for t in self.tasks]  # joint: sum of weighted task losses
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def _apply(self, idx, task: Optional[int], scale: float = 1.0):
        """One optimizer step; returns (loss, global norm of the shared variables' gradient)."""
        optimizer = self.optimizers[task if task is not None else 0]
        with tf.GradientTape() as tape:
            loss = self._loss(idx, task)
            scaled = loss * scale
        variables = self.model.trainable_variables
        grads = tape.gradient(scaled, variables)
        optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])
        shared = [grads[i] for i in self._shared_positions if grads[i] is not None]
        norm = tf.linalg.global_norm(shared) / scale if shared else tf.constant(0.0)
        return loss, norm

    def _make_step(self, task: Optional[int]):
        strategy = tf.distribute.get_strategy()

        if not tf.distribute.has_strategy():
            @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
            def step(idx):
                return self._apply(idx, task)
            return step

        def replica_step(shard, rows):
            # A task loss is a mean over the shard's rows: weighted by the shard's share of
            # the batch, the replicas' summed gradients are the whole batch's, also when the
            # batch does not split evenly (exact in alternate mode; in joint mode the CVR
            # term is a mean over the shard's clicked rows, whose share may differ).
            share = tf.cast(tf.shape(shard)[0], tf.float32) / rows
            loss, norm = self._apply(shard, task, share)
            return loss * share, norm

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def distributed_step(idx):
            # Replica r takes rows r, r + R, r + 2R, ... of the batch.
            shards = strategy.experimental_distribute_values_from_function(
                lambda ctx: idx[ctx.replica_id_in_sync_group::ctx.num_replicas_in_sync])
            rows = tf.cast(tf.shape(idx)[0], tf.float32)
            loss, norm = strategy.run(replica_step, args=(shards, rows))
            # The norm is the mean of the replicas' norms (of their unscaled shard gradients).
            return (strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                    strategy.reduce(tf.distribute.ReduceOp.MEAN, norm, axis=None))
        return distributed_step

    def reset(self, seed: int) -> None:
        """Zeroes every optimizer's state (moments, step count) and reseeds batch order.

        Equivalent to fresh optimizers, but keeps the compiled steps (no retracing).
        """
        for optimizer in self.optimizers:
            for v in optimizer.variables:
                v.assign(tf.zeros_like(v))
        self.rng = np.random.default_rng(seed)

    def _step_and_norm(self, task: Optional[int]):
        if task not in self._steps:
            self._steps[task] = self._make_step(task)
        return self._steps[task]

    def step_fn(self, task: Optional[int]):
        """The compiled step of ``task`` (None: joint); called on row indices, returns the loss."""
        step = self._step_and_norm(task)
        return lambda idx: step(idx)[0]

    def _account(self, task: Optional[int], norm: float) -> None:
        name = "joint" if task is None else TASK_NAMES[task]
        entry = self.shared_gradients.setdefault(
            name, {"steps": 0, "grad_norm_sum": 0.0, "learning_rate_sum": 0.0})
        entry["steps"] += 1
        entry["grad_norm_sum"] += norm
        entry["learning_rate_sum"] += self._learning_rates[task if task is not None else 0]

    # --- epochs ----------------------------------------------------------------------
    def _task_rows(self, task: int) -> np.ndarray:
        return self.tasks[task].samples(self.split.click, self.split.clicked_index)

    def epoch_plan(self, tasks: Sequence[int], fraction: float = 1.0) -> List[tuple]:
        """Shuffled (task, row indices) batches covering ``fraction`` of each task's rows once."""
        bs = self.config.trainer.batch_size
        plan = []
        if self.mode == "joint":
            rows = self.rng.permutation(self.split.size)[: int(self.split.size * fraction)]
            return [(None, rows[i:i + bs]) for i in range(0, len(rows), bs)]
        for task in tasks:
            rows = self.rng.permutation(self._task_rows(task))
            rows = rows[: max(int(math.ceil(len(rows) * fraction)), 1 if len(rows) else 0)]
            plan += [(task, rows[i:i + bs]) for i in range(0, len(rows), bs)]
        order = self.rng.permutation(len(plan))
        return [plan[i] for i in order]

    def fit(self, epochs: float = 1.0, tasks: Sequence[int] = TASKS, progress: Progress = None,
            label: str = "train") -> Dict[str, float]:
        """Trains ``epochs`` epochs (fractions allowed) over ``tasks``; returns mean losses.

        Each task's per-step losses of this call stay in ``self.step_losses`` (task -> list);
        ``self.shared_gradients`` (task name -> steps, grad_norm_sum, learning_rate_sum) keeps
        adding up over calls.
        """
        losses = {t: [] for t in (list(tasks) if self.mode == "alternate" else [None])}
        whole, part = int(epochs), epochs - int(epochs)
        fractions = [1.0] * whole + ([part] if part > 1e-9 else [])
        start = time.perf_counter()
        for e, frac in enumerate(fractions):
            plan = self.epoch_plan(tasks, frac)
            report_every = max(len(plan) // 4, 1)
            for i, (task, idx) in enumerate(plan):
                loss, norm = self._step_and_norm(task)(tf.constant(idx, tf.int32))
                losses[task].append(float(loss))
                self._account(task, float(norm))
                self.examples_seen += len(idx)
                if progress and (i + 1) % report_every == 0:
                    rate = self.examples_seen / max(time.perf_counter() - start, 1e-9)
                    progress(f"{label}: epoch {e + 1}/{len(fractions)} "
                             f"{100 * (i + 1) / len(plan):3.0f}%  {rate:,.0f} examples/s")
        self.seconds = time.perf_counter() - start
        self.step_losses = {("joint" if t is None else TASK_NAMES[t]): v for t, v in losses.items()}
        return {("joint" if t is None else TASK_NAMES[t]): float(np.mean(v)) if v else float("nan")
                for t, v in losses.items()}


def _predict_fn(model: MultiTaskRanker, task: int):
    """A compiled ``task_output`` cached on the model (one trace per task and batch shape)."""
    cache = model.__dict__.setdefault("_lt4rec_predict_fns", {})
    if task not in cache:
        cache[task] = tf.function(lambda f: model.task_output(f, task), reduce_retracing=True)
    return cache[task]


def predict(model: MultiTaskRanker, split: Split, tasks: Sequence[int] = TASKS,
            batch_size: int = 8192) -> Dict[int, np.ndarray]:
    """Predictions of each task over a whole split, {task: [N]}."""
    out = {t: [] for t in tasks}
    for start in range(0, split.size, batch_size):
        feats = {k: v[start:start + batch_size] for k, v in split.features.items()}
        for t in tasks:
            out[t].append(_predict_fn(model, t)(feats).numpy())
    return {t: np.concatenate(v) if v else np.zeros(0, np.float32) for t, v in out.items()}
