"""PLE (Progressive Layered Extraction): who reaches which experts, mixing, and shapes."""

import numpy as np
import pytest
import tensorflow as tf

from lt4rec.models.ple import PLEArch, mix_experts


def test_mix_experts_is_the_gate_weighted_sum():
    a, b = tf.constant([[1.0, 2.0]]), tf.constant([[10.0, 20.0]])
    np.testing.assert_allclose(mix_experts([a, b], tf.constant([[0.25, 0.75]])), [[7.75, 15.5]])


def _grads_to_other_task_experts(levels):
    arch = PLEArch((4,), num_shared_experts=1, num_task_experts=2, levels=levels,
                   tower_units=(3,), num_tasks=2)
    x = tf.random.stateless_normal((5, 6), seed=(1, 2))
    arch(x, task=0), arch(x, task=1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(arch(x, task=0))
    first = arch.levels[0].task_experts[1]          # task 1's experts at level 0
    grads = tape.gradient(loss, [v for e in first for v in e.trainable_variables])
    return arch, [g for g in grads if g is not None]


def test_one_level_cgc_keeps_task_experts_private():
    # CGC: task 0's output mixes only its own and the shared experts.
    arch, grads = _grads_to_other_task_experts(levels=1)
    assert grads == []
    assert arch.levels[0].shared_gate is None


def test_two_levels_reach_the_other_tasks_experts_through_the_shared_gate():
    arch, grads = _grads_to_other_task_experts(levels=2)
    assert grads and any(np.any(g.numpy() != 0) for g in grads)
    assert arch.levels[0].shared_gate is not None and arch.levels[1].shared_gate is None
    # shared gate of level 0 mixes 2 tasks x 2 task experts + 1 shared expert
    assert arch.levels[0].shared_gate.units == 5
    shared_ids = {id(v) for v in arch.shared_variables}
    assert all(id(v) in shared_ids for v in arch.levels[0].shared_gate.trainable_variables)
    assert not any(id(v) in shared_ids for v in arch.per_task[0].tower.trainable_variables)


def test_output_has_the_tower_width():
    arch = PLEArch((8, 4), 2, 1, levels=3, tower_units=(5,), num_tasks=2)
    assert arch(tf.ones((7, 3)), task=1).shape == (7, 5)
    with pytest.raises(ValueError, match="levels"):
        PLEArch((4,), 1, 1, levels=0, tower_units=(2,))


def test_a_tasks_path_skips_the_other_tasks_last_level_experts():
    arch = PLEArch((4,), num_shared_experts=1, num_task_experts=2, levels=2, tower_units=(3,))
    arch(tf.ones((2, 6)), task=0), arch(tf.ones((2, 6)), task=1)
    path = {id(v) for v in arch.per_task[0].path_variables}
    other_last = [v for e in arch.levels[1].task_experts[1] for v in e.trainable_variables]
    other_first = [v for e in arch.levels[0].task_experts[1] for v in e.trainable_variables]
    assert not any(id(v) in path for v in other_last)
    assert all(id(v) in path for v in other_first)   # feeds the shared gate of level 0
    # every variable the task's output has a gradient for is on its path
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(arch(tf.ones((2, 6)), task=0))
    variables = arch.trainable_variables
    used = {id(v) for v, g in zip(variables, tape.gradient(out, variables)) if g is not None}
    assert used <= path
