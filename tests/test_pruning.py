"""Pruning: schedules give tfmot-style per-round sparsities; prune reaches them exactly."""

import numpy as np
import pytest

from lt4rec.models import pruning
from lt4rec.models.config import PruningConfig
from lt4rec.models.layers import MaskedDense

RNG = np.random.default_rng(1)


def _layers(mask_type="weight", shapes=((10, 8), (8, 6))):
    out = []
    for fan_in, units in shapes:
        layer = MaskedDense(units, 2, mask_type)
        layer.build((None, fan_in))
        layer.kernel.assign(RNG.normal(size=(fan_in, units)).astype(np.float32))
        out.append(layer)
    return out


def test_geometric_schedule_prunes_q_of_the_remaining_each_round():
    s = pruning.round_sparsities(PruningConfig(rounds=4, schedule="geometric", q=0.2))
    np.testing.assert_allclose(s, [0.0, 0.2, 0.36, 0.488], atol=1e-6)


def test_polynomial_schedule_is_tfmots_and_ends_at_final_sparsity():
    s = pruning.round_sparsities(PruningConfig(rounds=5, schedule="polynomial",
                                               final_sparsity=0.8))
    assert s[0] == 0.0 and s[-1] == pytest.approx(0.8)
    assert all(a < b for a, b in zip(s, s[1:]))


def test_constant_schedule():
    s = pruning.round_sparsities(PruningConfig(rounds=3, schedule="constant",
                                               final_sparsity=0.5))
    assert s == pytest.approx([0.0, 0.5, 0.5])


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_prune_reaches_target_sparsity_and_never_revives(scope):
    layers = _layers()
    masks = [np.ones(l.kernel.shape, np.float32) for l in layers]
    for target in (0.2, 0.36, 0.488):
        new = pruning.prune(layers, masks, target, scope)
        if scope == "layer":
            for m in new:
                assert (m == 0).sum() == round(target * m.size)
        else:
            assert sum((m == 0).sum() for m in new) == round(target * sum(m.size for m in new))
        for old, m in zip(masks, new):
            assert np.all(m[old == 0] == 0)            # pruned stays pruned
        masks = new


def test_prune_removes_smallest_magnitudes():
    layer = _layers(shapes=((2, 2),))[0]
    layer.kernel.assign(np.array([[0.1, -3.0], [-0.2, 2.0]], np.float32))
    (mask,) = pruning.prune([layer], [np.ones((2, 2), np.float32)], 0.5)
    np.testing.assert_array_equal(mask, [[0, 1], [0, 1]])


def test_neuron_pruning_ranks_units():
    layer = _layers("neuron", shapes=((3, 4),))[0]
    layer.kernel.assign(np.array([[1, 0.1, 5, 0.2]] * 3, np.float32))
    (mask,) = pruning.prune([layer], [np.ones(4, np.float32)], 0.5)
    np.testing.assert_array_equal(mask, [1, 0, 1, 0])


def test_mask_statistics_counts_by_hand():
    layer = _layers(shapes=((2, 2),))[0]
    layer.set_task_mask(0, np.array([[1, 1], [0, 0]]))
    layer.set_task_mask(1, np.array([[1, 0], [1, 0]]))
    (row,) = pruning.mask_statistics([layer])
    assert (row["kept_ctr"], row["kept_cvr"], row["shared"], row["ctr_only"], row["cvr_only"],
            row["pruned_by_both"]) == (2, 2, 1, 1, 1, 1)


def test_movement_criterion_keeps_the_weights_that_moved_most():
    layer = _layers(shapes=((2, 2),))[0]
    theta = np.array([[3.0, 0.1], [-2.0, 0.2]], np.float32)
    # trained: the big weights barely moved (3 -> 3.05, -2 -> -2.0), the small ones moved a lot
    layer.kernel.assign(np.array([[3.05, 0.9], [-2.0, -0.6]], np.float32))
    ones = [np.ones((2, 2), np.float32)]
    (by_magnitude,) = pruning.prune([layer], ones, 0.5, importance="magnitude")
    (by_movement,) = pruning.prune([layer], ones, 0.5, importance="movement",
                                   theta_kernels=[theta])
    np.testing.assert_array_equal(by_magnitude, [[1, 0], [1, 0]])
    np.testing.assert_array_equal(by_movement, [[0, 1], [0, 1]])   # moved 0.8 and 0.8


def test_magnitude_times_movement_scores_by_hand():
    from lt4rec.models.importance import entry_scores, unit_scores
    kernel = np.array([[2.0, -1.0]])
    theta = np.array([[1.0, 1.0]])
    np.testing.assert_allclose(entry_scores(kernel, theta, "magnitude_times_movement"),
                               [[2.0 * 1.0, 1.0 * 2.0]])
    # neuron masks: RMS over a unit's incoming entries: column [3, 4] moved -> 5 / sqrt(2)
    np.testing.assert_allclose(unit_scores(np.array([[3.0], [4.0]]), np.zeros((2, 1)),
                                           "movement", "neuron"), [5.0 / np.sqrt(2)])


def test_movement_without_theta_is_a_clear_error():
    from lt4rec.models.importance import entry_scores
    with pytest.raises(ValueError, match="needs theta"):
        entry_scores(np.ones((2, 2)), None, "movement")
    with pytest.raises(ValueError, match="importance"):
        entry_scores(np.ones((2, 2)), None, "gradient")
