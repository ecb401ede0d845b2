"""masks.npz: one codec for train_variant, MaskGen and SparseTrainer."""

import numpy as np
import pytest

from lt4rec.models.artifacts import MASKS_FILE, load_task_masks, mask_key, save_task_masks


class _Layer:
    """A masked layer's mask API, two tasks."""

    def __init__(self, name, shape, seed):
        self.name = name
        rng = np.random.default_rng(seed)
        self.masks = [(rng.uniform(size=shape) > 0.5).astype(np.float32) for _ in range(2)]

    def task_mask(self, t):
        return self.masks[t]

    def set_task_mask(self, t, mask):
        self.masks[t] = np.asarray(mask)


def test_masks_round_trip_per_task_and_layer(tmp_path):
    layers = [_Layer("snet_0", (4, 3), 0), _Layer("snet_1", (3, 2), 1)]
    save_task_masks(str(tmp_path), layers, ("ctr", "cvr"), (0, 1))
    with np.load(tmp_path / MASKS_FILE) as saved:
        assert sorted(saved.files) == ["ctr/snet_0", "ctr/snet_1", "cvr/snet_0", "cvr/snet_1"]
    fresh = [_Layer("snet_0", (4, 3), 7), _Layer("snet_1", (3, 2), 8)]
    load_task_masks(str(tmp_path), fresh, ("ctr", "cvr"))
    for layer, twin in zip(layers, fresh):
        for t in (0, 1):
            np.testing.assert_array_equal(twin.task_mask(t), layer.task_mask(t))


def test_loading_masks_of_another_model_names_the_missing_ones(tmp_path):
    save_task_masks(str(tmp_path), [_Layer("snet_0", (2, 2), 0)], ("ctr", "cvr"), (0, 1))
    with pytest.raises(KeyError, match=mask_key("ctr", "snet_9")):
        load_task_masks(str(tmp_path), [_Layer("snet_9", (2, 2), 0)], ("ctr", "cvr"))
