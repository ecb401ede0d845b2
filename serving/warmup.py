"""Replaying a version's warm-up records (``assets.extra/tf_serving_warmup_requests``, written by
``lt4rec.models.warmup`` at export) through the model service's own request path, as TF Serving
does before a version takes traffic; ``load_and_warm`` is the registry's default loader."""

from __future__ import annotations

import dataclasses
import os
import time

from lt4rec.models.warmup import warmup_path
from lt4rec.serving import inference
from lt4rec.serving.loaded_model import LoadedModel, load_model


def load_and_warm(name: str, version: int, path: str) -> LoadedModel:
    """Loads the SavedModel at ``path`` and replays its warm-up records, if it has any.

    Raises:
      FileNotFoundError: ``path`` holds no ``saved_model.pb``.
      Anything the warm-up raises: a version that cannot answer its own sample requests is
      not served.
    """
    started = time.perf_counter()
    model = load_model(name, version, path)
    replay(model)
    return dataclasses.replace(model, load_seconds=time.perf_counter() - started)


def replay(model) -> int:
    """Runs every warm-up record of ``model`` (a ``LoadedModel``) through the request path.

    Returns:
      The number of records replayed (0 when the version has no warm-up file).
    Raises:
      Whatever a record's request raises: the version is broken.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = warmup_path(model.path)
    if not os.path.exists(path):
        return 0
    handlers = {"predict_log": inference.predict, "regress_log": inference.regress,
                "classify_log": inference.classify}
    limits = inference.Limits(max_batch_size=1 << 30)
    count = 0
    for raw in tf.data.TFRecordDataset(path).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog.FromString(raw)
        kind = log.WhichOneof("log_type")
        if kind in handlers:
            handlers[kind](model, getattr(log, kind).request, limits)
            count += 1
    return count
