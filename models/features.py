"""Raw log features -> field embeddings, inside the graph (so exports take raw log records).

Every model input column of the contract becomes one *field* of width D:

* categorical ints with a bounded domain (``day_of_week``, ``hour_of_day``): index = value,
  out-of-range values share one extra OOV row;
* categorical ints without bound (``user_id``, ``item_id``, ``item_category``): hashed into a
  configured number of buckets;
* categorical strings (``user_gender``, ...): looked up in the schema's vocabulary (index 0 =
  OOV);
* lists (``user_recent_clicks``, ``item_tags``): split on the schema's separator, hashed, mean
  pooled (an empty list is a zero vector); a list whose ``ids_of`` names another column shares
  that column's table (recent clicks use the item table);
* numerics (``video_length_s``): bucketised into a field, and log1p(x) as a dense input.

The preprocessing is stateless (hashing and schema vocabularies), so training, tf.Transform and
serving compute it identically without an analyse pass.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Tuple

import tensorflow as tf

from models.config import FeatureConfig
from schemas import contract as contract_lib
from schemas import names
from schemas.contract import DType, Kind

_CONTRACT = contract_lib.load()


def model_input_features() -> Tuple[contract_lib.Feature, ...]:
    """The contract's columns the model reads, in field order."""
    return _CONTRACT.model_inputs


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


def _hash_buckets(config: FeatureConfig) -> Dict[str, int]:
    return {names.USER_ID: config.user_buckets, names.ITEM_ID: config.item_buckets,
            names.ITEM_CATEGORY: config.category_buckets, names.ITEM_TAGS: config.tag_buckets}


class FeatureEmbedding(tf.keras.layers.Layer):
    """Embeds raw log features into F field vectors plus dense numerics.

    Call args:
      features: dict of raw column tensors, each [B] (or [B, 1]), named as in the contract.
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
        self._buckets = _hash_buckets(config)
        self._lookups = {f.name: tf.keras.layers.StringLookup(vocabulary=list(f.vocabulary),
                                                              num_oov_indices=1)
                         for f in self.features if f.vocabulary}
        self._boundaries = [float(b) for b in config.video_length_boundaries_s]

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
            return len(self._boundaries) + 1
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

    def _ids(self, f: contract_lib.Feature, x: tf.Tensor) -> tf.Tensor:
        """Row indices into the field's table, [B] int64."""
        if f.vocabulary:
            return self._lookups[f.name](x)
        if f.kind is Kind.NUMERIC:
            return tf.cast(tf.raw_ops.Bucketize(input=tf.cast(x, tf.float32),
                                                boundaries=self._boundaries), tf.int64)
        if f.max_value is not None:
            oov = int(f.max_value) + 1
            inside = (x >= 0) & (x <= int(f.max_value))
            return tf.where(inside, tf.cast(x, tf.int64), tf.constant(oov, tf.int64))
        return tf.strings.to_hash_bucket_fast(tf.strings.as_string(x), self._buckets[f.name])

    def _pooled(self, f: contract_lib.Feature, x: tf.Tensor) -> tf.Tensor:
        """Mean of the list's element embeddings, [B, width]; zeros for an empty list."""
        tokens = tf.strings.split(x, sep=f.list_separator)
        tokens = tf.ragged.boolean_mask(tokens, tf.strings.length(tokens) > 0)
        owner = f.ids_of or f.name
        ids = tf.ragged.map_flat_values(tf.strings.to_hash_bucket_fast, tokens,
                                        self._buckets[owner])
        vectors = tf.ragged.map_flat_values(tf.nn.embedding_lookup, self.tables[owner], ids)
        total = tf.reduce_sum(vectors, axis=1)
        count = tf.cast(tf.maximum(ids.row_lengths(), 1), tf.float32)[:, None]
        return total / count

    def call(self, features: Dict[str, tf.Tensor]) -> Tuple[tf.Tensor, tf.Tensor]:
        fields: List[tf.Tensor] = []
        dense: List[tf.Tensor] = []
        for f in self.features:
            x = tf.reshape(features[f.name], [-1])
            if f.kind is Kind.LIST:
                fields.append(self._pooled(f, x))
                continue
            fields.append(tf.nn.embedding_lookup(self.tables[f.name], self._ids(f, x)))
            if f.kind is Kind.NUMERIC:
                dense.append(tf.math.log1p(tf.maximum(tf.cast(x, tf.float32), 0.0)))
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
