"""MaskedDense: masked weights contribute nothing and get no gradient from their task."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_model_optimization.python.core.sparsity.keras import prunable_layer

from lt4rec.models.layers import FeatureCross, MaskedDense

RNG = np.random.default_rng(0)


def _layer(mask_type, units=5, fan_in=7):
    layer = MaskedDense(units, num_tasks=2, mask_type=mask_type, activation="relu")
    layer.build((None, fan_in))
    layer.kernel.assign(RNG.normal(size=(fan_in, units)).astype(np.float32))
    layer.bias.assign(RNG.normal(size=units).astype(np.float32) + 1.0)
    return layer


def test_weight_mask_computes_x_times_masked_kernel():
    layer = _layer("weight")
    mask = (RNG.random((7, 5)) > 0.5).astype(np.float32)
    layer.set_task_mask(0, mask)
    x = RNG.normal(size=(3, 7)).astype(np.float32)
    expected = np.maximum(x @ (layer.kernel.numpy() * mask) + layer.bias.numpy(), 0)
    np.testing.assert_allclose(layer(x, task=0).numpy(), expected, rtol=1e-5, atol=1e-6)
    # task 1 still has its all-ones mask
    full = np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0)
    np.testing.assert_allclose(layer(x, task=1).numpy(), full, rtol=1e-5, atol=1e-6)


def test_masked_weights_contribute_nothing_and_get_zero_gradient():
    layer = _layer("weight")
    mask = (RNG.random((7, 5)) > 0.5).astype(np.float32)
    layer.set_task_mask(0, mask)
    x = tf.constant(RNG.normal(size=(4, 7)).astype(np.float32))
    before = layer(x, task=0).numpy()
    layer.kernel.assign(layer.kernel.numpy() + 100.0 * (1 - mask))  # move only masked weights
    np.testing.assert_array_equal(layer(x, task=0).numpy(), before)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, task=0) ** 2)
    grad = tape.gradient(loss, layer.kernel).numpy()
    assert np.all(grad[mask == 0] == 0)
    assert np.any(grad[mask == 1] != 0)


def test_neuron_mask_silences_units_and_their_gradient():
    layer = _layer("neuron")
    layer.set_task_mask(1, np.array([1, 0, 1, 0, 1], np.float32))
    x = tf.constant(RNG.normal(size=(4, 7)).astype(np.float32))
    with tf.GradientTape() as tape:
        y = layer(x, task=1)
        loss = tf.reduce_sum(y ** 2)
    assert np.all(y.numpy()[:, [1, 3]] == 0)
    grad = tape.gradient(loss, layer.kernel).numpy()
    assert np.all(grad[:, [1, 3]] == 0)


def test_get_config_round_trip_and_tfmot_interface():
    layer = _layer("weight")
    clone = MaskedDense.from_config(layer.get_config())
    clone.build((None, 7))
    clone.set_weights(layer.get_weights())
    x = RNG.normal(size=(2, 7)).astype(np.float32)
    np.testing.assert_allclose(clone(x, task=0).numpy(), layer(x, task=0).numpy())
    assert clone.get_config() == layer.get_config()
    assert isinstance(layer, prunable_layer.PrunableLayer)
    assert layer.get_prunable_weights() == [layer.kernel]


def test_plain_layer_has_no_mask_variable():
    layer = _layer(None)
    assert not any("mask" in v.name for v in layer.weights)


@pytest.mark.parametrize("kwargs,match", [({"units": 0}, "units=0"),
                                          ({"units": 3, "mask_type": "row"}, "mask_type='row'")])
def test_bad_arguments_show_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MaskedDense(**kwargs)


def test_set_task_mask_rejects_wrong_shape_or_values():
    layer = _layer("weight")
    with pytest.raises(ValueError, match="shape"):
        layer.set_task_mask(0, np.ones((3, 3)))
    with pytest.raises(ValueError, match="0/1"):
        layer.set_task_mask(0, np.full((7, 5), 0.5))


def test_feature_cross_matches_hand_computation():
    fields = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    out = FeatureCross()(tf.constant(fields)).numpy()
    e = fields
    pairs = np.stack([np.sum(e[:, 0] * e[:, 1], -1), np.sum(e[:, 0] * e[:, 2], -1),
                      np.sum(e[:, 1] * e[:, 2], -1)], axis=1)
    np.testing.assert_allclose(out, np.concatenate([e.reshape(2, 12), pairs], 1), rtol=1e-5)
    assert FeatureCross.from_config(FeatureCross().get_config()).include_embeddings


def test_feature_embedding_config_round_trip():
    from lt4rec.models.config import FeatureConfig
    from lt4rec.models.features import FeatureEmbedding
    layer = FeatureEmbedding(FeatureConfig(embedding_dim=3, user_buckets=11), multiview_dim=2)
    clone = FeatureEmbedding.from_config(layer.get_config())
    assert clone.config == layer.config and clone.multiview_dim == 2 and clone.width == 5
