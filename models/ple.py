"""Progressive Layered Extraction (PLE; Tang et al., RecSys 2020), the over-arch of ``ple``.

PLE separates shared and task-specific experts and stacks extraction levels:

    level l, inputs: one state per task x_t and a shared state x_s (level 0: all = x)
      task experts   E_t,k(x_t)   k < num_task_experts, for each task t
      shared experts E_s,k(x_s)   k < num_shared_experts
      task t's next state   = sum_k softmax(G_t(x_t))_k * [E_t,*(x_t), E_s,*(x_s)]_k
      shared next state     = sum_k softmax(G_s(x_s))_k * [E_1,*(x_1), ..., E_T,*(x_T),
                                                            E_s,*(x_s)]_k   (not at the last level)
    task t's output = tower_t(task t's state after the last level)

With one level, PLE is CGC (Customized Gate Control). Experts are MLPs of ``hidden_units``,
as MMoE's; a task's loss reaches the other task's experts only through the shared gates of
intermediate levels.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import tensorflow as tf

from lt4rec.models.layers import MaskedMLP


def mix_experts(outputs: Sequence[tf.Tensor], gate: tf.Tensor) -> tf.Tensor:
    """Gate-weighted sum of expert outputs.

    Args:
      outputs: E tensors [B, H]; gate: [B, E] weights (softmax).
    Returns:
      [B, H] = sum_e gate[:, e] * outputs[e].
    """
    stacked = tf.stack(list(outputs), axis=1)                           # [B, E, H]
    return tf.reduce_sum(stacked * gate[:, :, None], axis=1)


def _expert(hidden_units, activation, name: str) -> MaskedMLP:
    return MaskedMLP(hidden_units, 1, None, activation, name=name)


class ExtractionLevel(tf.keras.layers.Layer):
    """One PLE level: shared and per-task experts, per-task gates, a shared gate unless last.

    Call args:
      states: T + 1 tensors [B, d]: each task's state, then the shared state.
      task: None (every task's next state, then the shared one: T + 1 tensors) or a task
        index (only that task's next state: one tensor in a list; the last level).
    """

    def __init__(self, hidden_units, num_shared_experts: int, num_task_experts: int,
                 num_tasks: int, last: bool, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.num_tasks = num_tasks
        self.shared_experts = [_expert(hidden_units, activation, f"shared_expert_{k}")
                               for k in range(num_shared_experts)]
        self.task_experts = [[_expert(hidden_units, activation, f"task_{t}_expert_{k}")
                              for k in range(num_task_experts)] for t in range(num_tasks)]
        self.task_gates = [tf.keras.layers.Dense(num_task_experts + num_shared_experts,
                                                 activation="softmax", name=f"gate_{t}")
                           for t in range(num_tasks)]
        self.shared_gate = None if last else tf.keras.layers.Dense(
            num_tasks * num_task_experts + num_shared_experts, activation="softmax",
            name="shared_gate")

    def call(self, states: List[tf.Tensor], task: Optional[int] = None) -> List[tf.Tensor]:
        tasks = range(self.num_tasks) if task is None else [task]
        shared = [e(states[-1]) for e in self.shared_experts]
        own = {t: [e(states[t]) for e in self.task_experts[t]]
               for t in (range(self.num_tasks) if task is None else tasks)}
        out = [mix_experts(own[t] + shared, self.task_gates[t](states[t])) for t in tasks]
        if task is None and self.shared_gate is not None:
            every = [o for t in range(self.num_tasks) for o in own[t]] + shared
            out.append(mix_experts(every, self.shared_gate(states[-1])))
        return out


class PLETask(tf.keras.layers.Layer):
    """One task's view of PLE: every level (shared with the other task), then its tower."""

    def __init__(self, levels: Sequence[ExtractionLevel], tower, task: int, **kwargs):
        super().__init__(**kwargs)
        self.levels, self.tower, self.task = list(levels), tower, task

    @property
    def path_variables(self) -> List[tf.Variable]:
        """The variables this task's output computes with (every level but the last in full;
        at the last level only its own and the shared experts and its gate), for FLOP counts."""
        last = self.levels[-1]
        used = last.shared_experts + last.task_experts[self.task] + [last.task_gates[self.task]]
        out = [v for level in self.levels[:-1] for v in level.trainable_variables]
        return out + [v for l in used for v in l.trainable_variables] + list(
            self.tower.trainable_variables)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        states = [x] * (self.levels[0].num_tasks + 1)
        for level in self.levels[:-1]:
            states = level(states)
        return self.tower(self.levels[-1](states, task=self.task)[0])


class PLEArch(tf.keras.layers.Layer):
    """The ``ple`` over-arch: ``levels`` extraction levels and a tower per task.

    Call args:
      x: [B, d] the InputArch's output; task: int.
    Returns:
      [B, tower_units[-1]].
    """

    def __init__(self, hidden_units, num_shared_experts: int, num_task_experts: int,
                 levels: int, tower_units, num_tasks: int = 2, activation="relu", **kwargs):
        super().__init__(**kwargs)
        if levels < 1:
            raise ValueError(f"`levels` must be >= 1. Received: levels={levels}")
        self.levels = [ExtractionLevel(hidden_units, num_shared_experts, num_task_experts,
                                       num_tasks, last=(l == levels - 1), activation=activation,
                                       name=f"level_{l}") for l in range(levels)]
        self.per_task = [PLETask(self.levels, _expert(tower_units, activation, f"tower_{t}"), t,
                                 name=f"ple_{t}") for t in range(num_tasks)]

    def call(self, x: tf.Tensor, task: int = 0) -> tf.Tensor:
        return self.per_task[task](x)

    def task_layers(self, task: int) -> List[tf.keras.layers.Layer]:
        return [self.per_task[task]]

    @property
    def shared_variables(self) -> List[tf.Variable]:
        """Shared experts and shared gates of every level."""
        out = []
        for level in self.levels:
            for layer in level.shared_experts + ([level.shared_gate] if level.shared_gate
                                                 else []):
                out += layer.trainable_variables
        return out
