"""Model inputs: the raw feature spec of log records, and field embeddings over them.

Every model input column of the contract becomes one *field* of width D, embedded from the ids
``models/preprocess.py`` computes (hashing, schema vocabularies, bounded ints, list elements
mean-pooled, video length bucketised; log1p(video length) is a dense input). The embedding
accepts either raw columns (it then runs ``preprocess`` in-graph) or features already
transformed by tf.Transform with the same function, so training, the pipeline's Transform
component and serving compute identical inputs.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Tuple

import tensorflow as tf

from lt4rec.models import preprocess as pp
from lt4rec.models.config import FeatureConfig
from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas.contract import DType, Kind

_CONTRACT = contract_lib.load()


model_input_features = pp.model_input_features


def raw_feature_spec(include_labels: bool = False) -> Dict[str, tf.io.FixedLenFeature]:
    """``tf.io.parse_example`` spec of raw log records (as ExampleGen writes them).

    List columns are one string ('3|9'), absent when empty; labels only with ``include_labels``.
    """
    dtypes = {DType.INT: tf.int64, DType.FLOAT: tf.float32, DType.STRING: tf.string}
    features = list(model_input_features())
    if include_labels:
        features += list(_CONTRACT.labels)
    spec = {}
    for f in features:
        default = "" if f.kind is Kind.LIST else None
        spec[f.name] = tf.io.FixedLenFeature([], dtypes[f.dtype], default_value=default)
    return spec


def raw_input_signature() -> Dict[str, tf.TensorSpec]:
    """TensorSpecs of the raw serving features, each shaped [batch]."""
    return {name: tf.TensorSpec([None], s.dtype, name=name)
            for name, s in raw_feature_spec().items()}


class FeatureEmbedding(tf.keras.layers.Layer):
    """Embeds log features into F field vectors plus dense numerics.

    Call args:
      features: dict of raw columns named as in the contract, each [B] (or [B, 1]); or the
        transformed features of ``models.preprocess.preprocess`` (ids [B], lists
        [B, max_list_length], log1p numerics [B]).
    Returns:
      (fields, dense): fields [B, F, D + multiview_dim] float32, dense [B, N] float32 where F is
      the number of model input columns and N the number of numeric ones.

    Example:
      >>> emb = FeatureEmbedding(FeatureConfig(embedding_dim=8))
      >>> fields, dense = emb(batch)   # fields: [B, 11, 8], dense: [B, 1]
    """

    def __init__(self, config: FeatureConfig = FeatureConfig(), multiview_dim: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        if multiview_dim < 0:
            raise ValueError(f"`multiview_dim` must be >= 0. Received: multiview_dim={multiview_dim}")
        self.config = config
        self.multiview_dim = multiview_dim
        self.width = config.embedding_dim + multiview_dim
        self.features = model_input_features()
        self._buckets = pp.hash_buckets(config)

    @property
    def num_fields(self) -> int:
        return len(self.features)

    @property
    def num_dense(self) -> int:
        return sum(f.kind is Kind.NUMERIC for f in self.features)

    def _table_size(self, f: contract_lib.Feature) -> int:
        if f.kind is Kind.LIST:
            return self._buckets[f.ids_of] if f.ids_of else self._buckets[f.name]
        if f.kind is Kind.NUMERIC:
            return len(self.config.video_length_boundaries_s) + 1
        if f.vocabulary:
            return len(f.vocabulary) + 1
        if f.max_value is not None:
            return int(f.max_value) + 2
        return self._buckets[f.name]

    def build(self, input_shape):
        self.tables = {}
        for f in self.features:
            if f.kind is Kind.LIST and f.ids_of:
                continue  # shares the table of the column it holds ids of
            self.tables[f.name] = self.add_weight(
                name=f"{f.name}_embedding", shape=(self._table_size(f), self.width),
                initializer=tf.keras.initializers.RandomUniform(-0.05, 0.05), trainable=True)
        super().build(input_shape)

    def _pooled(self, f: contract_lib.Feature, ids: tf.Tensor) -> tf.Tensor:
        """Mean of a list's element embeddings, [B, width]; zeros for an empty list.

        ``ids``: [B, L] table rows, ``PAD_ID`` where the list has no element."""
        valid = tf.cast(ids >= 0, tf.float32)
        table = self.tables[f.ids_of or f.name]
        vectors = tf.nn.embedding_lookup(table, tf.maximum(ids, 0)) * valid[:, :, None]
        count = tf.maximum(tf.reduce_sum(valid, axis=1), 1.0)[:, None]
        return tf.reduce_sum(vectors, axis=1) / count

    def call(self, features: Dict[str, tf.Tensor]) -> Tuple[tf.Tensor, tf.Tensor]:
        if not pp.is_transformed(features):
            features = pp.preprocess(features, self.config)
        fields: List[tf.Tensor] = []
        dense: List[tf.Tensor] = []
        for f in self.features:
            ids = tf.cast(features[pp.transformed_name(f.name)], tf.int64)
            if f.kind is Kind.LIST:
                fields.append(self._pooled(f, tf.reshape(ids, [-1, self.config.max_list_length])))
                continue
            fields.append(tf.nn.embedding_lookup(self.tables[f.name], tf.reshape(ids, [-1])))
            if f.kind is Kind.NUMERIC:
                dense.append(tf.reshape(tf.cast(
                    features[pp.transformed_name(f.name, pp.LOG1P)], tf.float32), [-1]))
        stacked = tf.stack(fields, axis=1)
        numeric = tf.stack(dense, axis=1) if dense else tf.zeros([tf.shape(stacked)[0], 0])
        return stacked, numeric

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"config": dataclasses.asdict(self.config), "multiview_dim": self.multiview_dim})
        return cfg

    @classmethod
    def from_config(cls, cfg):
        feature_cfg = FeatureConfig(**{k: tuple(v) if isinstance(v, list) else v
                                       for k, v in cfg.pop("config").items()})
        return cls(feature_cfg, **cfg)
