"""Reads TFX Examples artifacts (gzipped TFRecords of log tf.Examples) into training splits."""

from __future__ import annotations

import glob
import os
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf

from models.data import Split, make_split
from models.features import raw_feature_spec


def read_examples(split_dir: str, batch_size: int = 65536) -> Dict[str, np.ndarray]:
    """All records of one ``Split-<name>`` folder as typed column arrays (labels included).

    Raises:
      FileNotFoundError: the folder holds no TFRecord file.
    """
    files = sorted(glob.glob(os.path.join(split_dir, "*.gz")))
    if not files:
        raise FileNotFoundError(f"no TFRecord files (*.gz) in {split_dir}")
    spec = raw_feature_spec(include_labels=True)
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


def split_from_examples(uris: Sequence[str], split: str, name: str, days: List[str]) -> Split:
    """A training ``Split`` from split ``split`` of one or more Examples artifacts (a window)."""
    parts = [read_examples(os.path.join(uri, f"Split-{split}")) for uri in uris]
    return make_split(name, days, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
