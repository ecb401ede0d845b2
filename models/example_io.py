"""Reads TFX Examples artifacts (gzipped TFRecords of tf.Examples) into training splits.

Two kinds: ExampleGen's raw log records (``split_from_examples``) and tf.Transform's
materialized transformed examples (``split_from_transformed``), whose features are what
``models.preprocess.preprocess`` returns.
"""

from __future__ import annotations

import glob
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from lt4rec.models.data import Split, make_split, make_transformed_split
from lt4rec.models.features import raw_feature_spec


def read_examples(split_dir: str, spec: Optional[Dict[str, tf.io.FixedLenFeature]] = None,
                  batch_size: int = 65536) -> Dict[str, np.ndarray]:
    """All records of one ``Split-<name>`` folder as typed column arrays.

    Args:
      split_dir: the folder of ``*.gz`` TFRecord files.
      spec: parse spec; default the raw log records' (labels included).
    Raises:
      FileNotFoundError: the folder holds no TFRecord file.
    """
    files = sorted(glob.glob(os.path.join(split_dir, "*.gz")))
    if not files:
        raise FileNotFoundError(f"no TFRecord files (*.gz) in {split_dir}")
    spec = spec or raw_feature_spec(include_labels=True)
    columns: Dict[str, List[np.ndarray]] = {name: [] for name in spec}
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(batch_size)
    for batch in dataset:
        parsed = tf.io.parse_example(batch, spec)
        for name, value in parsed.items():
            array = value.numpy()
            if array.dtype == object:
                array = np.array([v.decode("utf-8") for v in array], dtype=object)
            columns[name].append(array)
    return {name: np.concatenate(parts) for name, parts in columns.items()}


def _concat(parts: Sequence[Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def split_from_examples(uris: Sequence[str], split: str, name: str, days: List[str]) -> Split:
    """A training ``Split`` from split ``split`` of one or more Examples artifacts (a window)."""
    return make_split(name, days, _concat([
        read_examples(os.path.join(uri, f"Split-{split}")) for uri in uris]))


def split_from_transformed(uris: Sequence[str], transform_graph_uri: str, split: str,
                           name: str, days: List[str]) -> Split:
    """A training ``Split`` of transformed examples (Transform's ``transformed_examples``)."""
    import tensorflow_transform as tft  # the pipeline's dependency only

    spec = tft.TFTransformOutput(transform_graph_uri).transformed_feature_spec()
    return make_transformed_split(name, days, _concat([
        read_examples(os.path.join(uri, f"Split-{split}"), spec) for uri in uris]))
