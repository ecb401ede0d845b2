"""Warm-up records: ``assets.extra/tf_serving_warmup_requests`` in each SavedModel version.

TF Serving replays this TFRecord of ``PredictionLog``s when it loads a version, before the
version takes traffic, so the first real request does not pay for lazy initialisation. The
records are genuine requests of every API the export serves: Predict on ``serving_default``
at batch sizes 1 and ``WARMUP_BATCH``, Regress on ``regress``, Classify on ``classify`` (pctr),
over tf.Examples of raw log records. The LT4REC model service replays the same file through
its own request path (``lt4rec.serving.warmup.replay``) before it swaps a new version in, so a
version that cannot answer its own sample requests is never served.

The records' examples are contract-valid sample rows (``sample_examples``: every serving
column with a value inside its schema domain), or real log rows when the exporter passes them.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

import numpy as np

from lt4rec.models import signatures as sigs
from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas.contract import DType, Kind
from lt4rec.schemas.examples import encode_rows

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
WARMUP_BATCH = 64
_ID_RANGE = 10_000  # sample ids for unbounded id columns


def warmup_path(saved_model_dir: str) -> str:
    """Where TF Serving looks for a version's warm-up records."""
    return os.path.join(saved_model_dir, WARMUP_DIR, WARMUP_FILE)


def _sample_column(f: contract_lib.Feature, rng: np.random.Generator, n: int) -> np.ndarray:
    if f.kind is Kind.LIST:
        lengths = rng.integers(0, 4, n)
        return np.array([f.list_separator.join(str(x) for x in rng.integers(0, _ID_RANGE, k))
                         for k in lengths], dtype=object)
    if f.vocabulary:
        return rng.choice(np.array(f.vocabulary, dtype=object), n)
    if f.dtype is DType.FLOAT:
        low = max(f.min_value or 0.0, 1.0)
        return rng.uniform(low, low + 600.0, n)
    low = int(f.min_value or 0)
    high = int(f.max_value) + 1 if f.max_value is not None else low + _ID_RANGE
    return rng.integers(low, high, n)


def sample_examples(n: int = WARMUP_BATCH, seed: int = 0) -> List[bytes]:
    """``n`` serialized tf.Examples of the serving columns with in-domain values."""
    rng = np.random.default_rng(seed)
    serving = [f for f in contract_lib.load() if f.in_serving]
    columns = {f.name: _sample_column(f, rng, n) for f in serving}
    return list(encode_rows(columns, [f.name for f in serving]))


def _records(name: str, signature_defs, examples: Sequence[bytes]) -> List[bytes]:
    import tensorflow as tf
    from tensorflow.core.example import example_pb2
    from tensorflow_serving.apis import (classification_pb2, predict_pb2, prediction_log_pb2,
                                         regression_pb2)

    logs = []
    default = signature_defs.get(sigs.DEFAULT_SIGNATURE)
    if default is not None:
        (key,) = default.inputs
        for batch in (examples[:1], examples):
            req = predict_pb2.PredictRequest()
            req.model_spec.name, req.model_spec.signature_name = name, sigs.DEFAULT_SIGNATURE
            req.inputs[key].CopyFrom(tf.make_tensor_proto(list(batch), dtype=tf.string))
            logs.append(prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=req)))
    parsed = [example_pb2.Example.FromString(e) for e in examples]
    for sig_name, sig in signature_defs.items():
        if sig.method_name == sigs.REGRESS_METHOD:
            req = regression_pb2.RegressionRequest()
            req.input.example_list.examples.extend(parsed)
            req.model_spec.name, req.model_spec.signature_name = name, sig_name
            logs.append(prediction_log_pb2.PredictionLog(
                regress_log=prediction_log_pb2.RegressLog(request=req)))
        elif sig.method_name == sigs.CLASSIFY_METHOD:
            req = classification_pb2.ClassificationRequest()
            req.input.example_list.examples.extend(parsed)
            req.model_spec.name, req.model_spec.signature_name = name, sig_name
            logs.append(prediction_log_pb2.PredictionLog(
                classify_log=prediction_log_pb2.ClassifyLog(request=req)))
    return [log.SerializeToString() for log in logs]


def write_warmup(saved_model_dir: str, name: str,
                 examples: Optional[Sequence[bytes]] = None) -> str:
    """Writes the warm-up records of the SavedModel at ``saved_model_dir``; returns the file.

    Args:
      saved_model_dir: an exported SavedModel (its signatures decide which APIs get records).
      name: the model name the requests carry (``pctr`` / ``pcvr``).
      examples: serialized tf.Examples of raw log records (default: ``sample_examples()``).
    """
    import tensorflow as tf

    examples = list(examples) if examples is not None else sample_examples()
    path = warmup_path(saved_model_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for record in _records(name, sigs.read_signature_defs(saved_model_dir), examples):
            writer.write(record)
    return path
