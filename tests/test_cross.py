"""FeatureCross: TFRS's DotInteraction with the project's pair order and the flat embeddings."""

import lt4rec  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)

import numpy as np
import pytest
import tensorflow as tf

from lt4rec.models.layers.cross import FeatureCross


def _previous_cross(fields: tf.Tensor) -> tf.Tensor:
    """The layer as it was before TFRS: a Gram matrix and an upper-triangle gather."""
    num_fields, dim = fields.shape[1], fields.shape[2]
    rows, cols = np.triu_indices(num_fields, k=1)
    gram = tf.matmul(fields, fields, transpose_b=True)
    pairs = tf.gather(tf.reshape(gram, [-1, num_fields * num_fields]),
                      tf.constant(rows * num_fields + cols, tf.int32), axis=1)
    return tf.concat([tf.reshape(fields, [-1, num_fields * dim]), pairs], axis=1)


def test_cross_of_three_fields_is_embeddings_then_upper_triangle_dots():
    fields = tf.constant([[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]])
    out = FeatureCross()(fields).numpy()
    np.testing.assert_array_equal(out, [[1, 0, 0, 2, 1, 1, 0, 1, 2]])


def test_cross_without_embeddings_is_the_pair_dots_only():
    fields = tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    out = FeatureCross(include_embeddings=False)(fields).numpy()
    np.testing.assert_array_equal(out, [[11, 17, 39]])  # 1*3+2*4, 1*5+2*6, 3*5+4*6


def test_cross_matches_the_previous_implementation_exactly():
    fields = tf.constant(np.random.default_rng(0).normal(size=(32, 7, 16)), tf.float32)
    layer = FeatureCross()
    np.testing.assert_array_equal(layer(fields).numpy(), _previous_cross(fields).numpy())
    assert layer.compute_output_shape(fields.shape).as_list() == [32, 7 * 16 + 21]


def test_cross_rejects_a_single_field():
    with pytest.raises(ValueError, match="needs >= 2 fields"):
        FeatureCross()(tf.zeros([2, 1, 4]))


def test_cross_config_round_trip():
    layer = FeatureCross(include_embeddings=False, name="c")
    clone = FeatureCross.from_config(layer.get_config())
    fields = tf.constant(np.random.default_rng(1).normal(size=(4, 3, 5)), tf.float32)
    np.testing.assert_array_equal(clone(fields).numpy(), layer(fields).numpy())
    assert clone.include_embeddings is False


def test_cross_builds_on_its_first_call_inside_a_tf_function():
    layer = FeatureCross()
    out = tf.function(lambda x: layer(x))(tf.ones([2, 3, 4]))
    np.testing.assert_array_equal(out.numpy()[0], [1.0] * 12 + [4.0] * 3)
