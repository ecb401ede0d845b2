"""The papers' feature-cross layer: pairwise field interactions next to the embeddings.

The interaction itself is TFRS's ``tfrs.layers.feature_interaction.DotInteraction``; this layer
only fixes the order of the pair features (upper triangle, row-major: (0,1), (0,2), ...,
(1,2), ...), the order every trained checkpoint and warm start of this project was built with,
and prepends the flat embeddings.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow_recommenders.layers.feature_interaction import DotInteraction


class FeatureCross(tf.keras.layers.Layer):
    """Pairwise inner products of field embeddings, concatenated with the flat embeddings.

    For fields e_1..e_F (each [D]) the output is
    ``[e_1, ..., e_F, <e_i, e_j> for i < j]``, shape [B, F*D + F*(F-1)/2] (an FM/DLRM-style
    second-order interaction; no weights of its own). ``DotInteraction(skip_gather=True)``
    computes every <e_i, e_j> of the lower triangle (i > j, at index i*F + j of its [B, F*F]
    output); the pairs are gathered from there in upper-triangle order.

    Example: fields [[1, 0], [0, 2], [1, 1]] (F=3, D=2) ->
    [1, 0, 0, 2, 1, 1, <e0,e1>=0, <e0,e2>=1, <e1,e2>=2].

    Call args:
      fields: [B, F, D] float32.
    Returns:
      [B, F*D + F*(F-1)/2] float32.
    """

    def __init__(self, include_embeddings: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.include_embeddings = include_embeddings
        self._dot = DotInteraction(self_interaction=False, skip_gather=True, name="dot")

    def build(self, input_shape):
        num_fields = int(input_shape[1])
        if num_fields < 2:
            raise ValueError(f"FeatureCross needs >= 2 fields. Received: input_shape={input_shape}")
        rows, cols = np.triu_indices(num_fields, k=1)
        # pair (r, c), r < c, sits at DotInteraction's lower-triangle index c*F + r.
        self._pairs = tf.constant(cols * num_fields + rows, tf.int32)
        super().build(input_shape)

    def call(self, fields: tf.Tensor) -> tf.Tensor:
        num_fields, dim = fields.shape[1], fields.shape[2]
        gram = self._dot(tf.unstack(fields, axis=1))                   # [B, F*F]
        pairs = tf.gather(gram, self._pairs, axis=1)
        if not self.include_embeddings:
            return pairs
        return tf.concat([tf.reshape(fields, [-1, num_fields * dim]), pairs], axis=1)

    def compute_output_shape(self, input_shape):
        f, d = int(input_shape[1]), int(input_shape[2])
        return tf.TensorShape([input_shape[0], f * (f - 1) // 2 + (f * d if self.include_embeddings
                                                                    else 0)])

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"include_embeddings": self.include_embeddings})
        return cfg
