"""Raw log features -> model-ready ids and numerics: LT4REC's one preprocessing function.

The same graph code runs in two places:

* in the TFX pipeline as tf.Transform's ``preprocessing_fn`` (the Transform component
  materializes transformed examples for MaskGen/SparseTrainer, and its transform graph is put
  in front of every exported model with ``transform_features_layer``);
* inside the model when it is fed raw columns (``lt4rec train`` outside TFX, and exports that
  were trained that way): ``FeatureEmbedding`` calls ``preprocess`` on raw inputs.

What it computes, per model input column of the contract (names from ``transformed_name``):

* categorical strings with a schema vocabulary: index in the vocabulary + 1, 0 = OOV;
* categorical ints with a bounded domain (``hour_of_day``...): the value, or max+1 if outside;
* categorical ints without bound (ids): hash of the decimal string into configured buckets;
* lists: split on the schema's separator, empty tokens dropped, each token hashed into the
  buckets of the column it holds ids of (``ids_of``), the first ``max_list_length`` kept,
  padded with -1 -> [B, max_list_length];
* numerics: bucket index over fixed boundaries, and ``log1p(max(x, 0))`` as a dense input;
* labels (when present): ``click`` as float32, the derived ``watch_ratio``.

Why no analyzers (no ``tft.compute_and_apply_vocabulary`` / ``tft.quantiles``): the pipeline
retrains daily with warm starts, so an id must keep its embedding row from one day to the
next. A vocabulary or quantiles computed per day re-index ids and move bucket edges every day,
silently scrambling warm-started embeddings; hashing, the schema's fixed vocabularies and fixed
boundaries do not. The Transform component still earns its place: preprocessing runs once per
day in Beam instead of once per training epoch, and the exported models carry its graph.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional

import tensorflow as tf

from lt4rec.models.config import FeatureConfig
from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas import names
from lt4rec.schemas.contract import DType, Kind

_CONTRACT = contract_lib.load()
_XF_SUFFIX = "_xf"
LOG1P = "log1p"
PAD_ID = -1


def transformed_name(name: str, part: str = "") -> str:
    """Name of a transformed feature: ``item_id`` -> ``item_id_xf``; with a part,
    ``video_length_s``, "log1p" -> ``video_length_s_log1p_xf``."""
    return f"{name}_{part}{_XF_SUFFIX}" if part else f"{name}{_XF_SUFFIX}"


CLICK_XF = transformed_name(names.CLICK)
WATCH_RATIO_XF = transformed_name(names.WATCH_RATIO)


def model_input_features():
    """The contract's columns the model reads, in field order."""
    return _CONTRACT.model_inputs


def hash_buckets(config: FeatureConfig) -> Dict[str, int]:
    """Hash-bucket count of each unbounded id column (lists use their ``ids_of`` column's)."""
    return {names.USER_ID: config.user_buckets, names.ITEM_ID: config.item_buckets,
            names.ITEM_CATEGORY: config.category_buckets, names.ITEM_TAGS: config.tag_buckets}


def is_transformed(features: Dict[str, Any]) -> bool:
    """True when ``features`` already holds ``preprocess`` outputs rather than raw columns."""
    return transformed_name(model_input_features()[0].name) in features


def _column(x, default) -> tf.Tensor:
    """A raw column as a [B] tensor, from [B], [B, 1] or a SparseTensor with <= 1 value per
    row (how tf.Transform hands over a FixedLen / an optional feature)."""
    if isinstance(x, tf.SparseTensor):
        x = tf.sparse.to_dense(
            tf.SparseTensor(x.indices, x.values, tf.stack([x.dense_shape[0], 1])),
            default_value=default)
    return tf.reshape(x, [-1])


def _ids(f: contract_lib.Feature, x: tf.Tensor, config: FeatureConfig) -> tf.Tensor:
    """Row index into field ``f``'s embedding table, [B] int64."""
    if f.vocabulary:
        vocab = tf.constant(list(f.vocabulary))
        match = tf.equal(x[:, None], vocab[None, :])
        first = tf.argmax(tf.cast(match, tf.int32), axis=1) + 1
        return tf.where(tf.reduce_any(match, axis=1), first, tf.zeros_like(first))
    if f.kind is Kind.NUMERIC:
        boundaries = [float(b) for b in config.video_length_boundaries_s]
        return tf.cast(tf.raw_ops.Bucketize(input=tf.cast(x, tf.float32),
                                            boundaries=boundaries), tf.int64)
    if f.max_value is not None:
        inside = (x >= 0) & (x <= int(f.max_value))
        return tf.where(inside, tf.cast(x, tf.int64), tf.constant(int(f.max_value) + 1, tf.int64))
    return tf.strings.to_hash_bucket_fast(tf.strings.as_string(x), hash_buckets(config)[f.name])


def _list_ids(f: contract_lib.Feature, x: tf.Tensor, config: FeatureConfig) -> tf.Tensor:
    """Hashed list elements, [B, max_list_length] int64 padded with ``PAD_ID``."""
    tokens = tf.strings.split(x, sep=f.list_separator)
    tokens = tf.ragged.boolean_mask(tokens, tf.strings.length(tokens) > 0)
    ids = tf.ragged.map_flat_values(tf.strings.to_hash_bucket_fast, tokens,
                                    hash_buckets(config)[f.ids_of or f.name])
    return ids.to_tensor(default_value=PAD_ID, shape=[None, config.max_list_length])


def preprocess(features: Dict[str, Any], config: FeatureConfig) -> Dict[str, tf.Tensor]:
    """Raw columns -> transformed features (see the module docstring).

    Args:
      features: raw columns named as in the contract, each [B], [B, 1] or (optional columns)
        a SparseTensor [B, <=1]; labels are optional.
      config: hash buckets, bucket boundaries and list length.
    Returns:
      {transformed_name(col): [B] int64 (lists: [B, max_list_length] int64),
       transformed_name(numeric, LOG1P): [B] float32, CLICK_XF / WATCH_RATIO_XF: [B] float32
       when the labels were given}.
    """
    out: Dict[str, tf.Tensor] = {}
    for f in model_input_features():
        x = _column(features[f.name], "" if f.dtype is DType.STRING else 0)
        if f.kind is Kind.LIST:
            out[transformed_name(f.name)] = _list_ids(f, x, config)
            continue
        out[transformed_name(f.name)] = _ids(f, x, config)
        if f.kind is Kind.NUMERIC:
            out[transformed_name(f.name, LOG1P)] = tf.math.log1p(
                tf.maximum(tf.cast(x, tf.float32), 0.0))
    for label, name in ((names.CLICK, CLICK_XF), (names.WATCH_RATIO, WATCH_RATIO_XF)):
        if label in features:
            out[name] = tf.cast(_column(features[label], 0), tf.float32)
    return out


def feature_config_from_custom(custom_config: Optional[Dict[str, Any]]) -> FeatureConfig:
    """The FeatureConfig a pipeline passes to Transform as ``custom_config["features"]``."""
    values = dict((custom_config or {}).get("features") or {})
    return FeatureConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def transform_custom_config(config: FeatureConfig) -> Dict[str, Any]:
    """Inverse of ``feature_config_from_custom``: what ``create_pipeline`` hands Transform."""
    return {"features": dataclasses.asdict(config)}


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Optional[Dict[str, Any]] = None
                     ) -> Dict[str, tf.Tensor]:
    """tf.Transform entry point (``Transform(preprocessing_fn="models.preprocess.
    preprocessing_fn", custom_config=transform_custom_config(...))``)."""
    return preprocess(inputs, feature_config_from_custom(custom_config))


def to_transform_inputs(raw: Dict[str, tf.Tensor]) -> Dict[str, Any]:
    """Raw [B] serving columns -> the input format of the Transform graph (TFMD shapes: a
    FixedLen [1] column as [B, 1]; an optional list column as a SparseTensor without the
    empty strings, i.e. absent when empty)."""
    out: Dict[str, Any] = {}
    for f in model_input_features():
        x = tf.reshape(raw[f.name], [-1, 1])
        out[f.name] = tf.sparse.from_dense(x) if f.kind is Kind.LIST else x
    return out
