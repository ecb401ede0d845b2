"""The names every export serves under, in one place: signature keys, input names, method names.

``models.export`` builds SavedModels with these signatures; the serving stack, the pipeline's
Evaluator config, the warm-up records and the benchmarks address them through these constants.
The method names are TF Serving's (``tensorflow/serving/{predict,regress,classify}``), so the
same SavedModel answers Predict, Regress and Classify there and in ``lt4rec serve``.
"""

from __future__ import annotations

import os
from typing import Dict

SAVED_MODEL_FILE = "saved_model.pb"
DEFAULT_SIGNATURE = "serving_default"  # TF Serving's default for every API
RAW_SIGNATURE = "serving_raw"          # raw-feature tensors, one per serving column
EXAMPLES_INPUT = "examples"            # serving_default's one input: serialized tf.Examples
REGRESS_SIGNATURE = "regress"
CLASSIFY_SIGNATURE = "classify"

PREDICT_METHOD = "tensorflow/serving/predict"
REGRESS_METHOD = "tensorflow/serving/regress"
CLASSIFY_METHOD = "tensorflow/serving/classify"


def read_signature_defs(path: str) -> Dict[str, object]:
    """{name: SignatureDef} of the SavedModel at ``path`` (internal ``__`` signatures left out).

    Read from ``saved_model.pb`` directly because ``tf.saved_model.load`` drops method names.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, SAVED_MODEL_FILE), "rb") as fh:
        proto.ParseFromString(fh.read())
    return {k: v for k, v in proto.meta_graphs[0].signature_def.items() if not k.startswith("__")}
