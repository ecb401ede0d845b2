"""TF Serving's Predict / Regress / Classify semantics over one ``LoadedModel``.

Plain functions from request proto to response proto (no gRPC here), shared by the model
service and by the warm-up replay, so a warm-up record exercises exactly the request path.

* Predict: ``inputs`` keyed by the signature's input names, dtypes as the signature declares;
  ``output_filter`` selects outputs. The first dimension is the batch.
* Regress / Classify: ``input`` is an ``ExampleList`` or an ``ExampleListWithContext``; with a
  context, each example is the context's features overlaid by the example's (the serialized
  context followed by the serialized example: protobuf's merge, last value wins, which is what
  TF Serving does). The signature must have the regress / classify method name.
"""

from __future__ import annotations

import dataclasses
from typing import List

import numpy as np

from lt4rec.models.signatures import CLASSIFY_METHOD, DEFAULT_SIGNATURE, REGRESS_METHOD
from lt4rec.serving.errors import InvalidRequest, TooLarge
from lt4rec.serving.loaded_model import LoadedModel


@dataclasses.dataclass(frozen=True)
class Limits:
    """Request limits of the model service.

    Attributes:
      max_batch_size: most examples (Predict: rows of the first dimension) in one request;
        more is RESOURCE_EXHAUSTED (TF Serving's batcher refuses batches over its
        ``max_batch_size`` likewise).
    """
    max_batch_size: int = 4096

    def __post_init__(self):
        if self.max_batch_size < 1:
            raise ValueError(f"`max_batch_size` must be >= 1. Received: "
                             f"max_batch_size={self.max_batch_size}")

    def check_batch(self, model: LoadedModel, size: int) -> None:
        """Raises TooLarge when ``size`` examples exceed the limit."""
        if size > self.max_batch_size:
            raise TooLarge(f"request to model {model.name!r} has {size} examples; the limit is "
                           f"max_batch_size={self.max_batch_size}")


def _fill_spec(spec, model: LoadedModel, signature_name: str) -> None:
    spec.name = model.name
    spec.version.value = model.version
    spec.signature_name = signature_name or DEFAULT_SIGNATURE


def predict(model: LoadedModel, request, limits: Limits):
    """PredictRequest -> PredictResponse (see the module docstring).

    Raises:
      InvalidRequest: unknown or missing input, wrong dtype, unknown output in the filter,
        inputs of different batch sizes.
      TooLarge: batch over ``limits.max_batch_size``.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    name = request.model_spec.signature_name
    sig = model.signature(name)
    inputs = {}
    for key, proto in request.inputs.items():
        info = sig.inputs.get(key)
        if info is None:
            raise InvalidRequest(f"input {key!r} is not an input of signature "
                                 f"{name or DEFAULT_SIGNATURE!r} of model {model.name!r}; "
                                 f"its inputs: {sorted(sig.inputs)}")
        if proto.dtype != info.dtype:
            raise InvalidRequest(
                f"input {key!r} of model {model.name!r} must be {tf.dtypes.as_dtype(info.dtype).name}"
                f"; received {tf.dtypes.as_dtype(proto.dtype).name if proto.dtype else 'no dtype'}")
        inputs[key] = tf.make_ndarray(proto)
    sizes = {k: (v.shape[0] if v.ndim else 1) for k, v in inputs.items()}
    if len(set(sizes.values())) > 1:
        raise InvalidRequest(f"inputs of model {model.name!r} have different batch sizes: {sizes}")
    limits.check_batch(model, max(sizes.values(), default=0))
    wanted = list(request.output_filter) or list(sig.outputs)
    unknown = sorted(set(wanted) - set(sig.outputs))
    if unknown:
        raise InvalidRequest(f"output_filter names {unknown}, not outputs of model "
                             f"{model.name!r}; its outputs: {sorted(sig.outputs)}")
    outputs = model.run(name, inputs)
    response = predict_pb2.PredictResponse()
    _fill_spec(response.model_spec, model, name)
    for key in wanted:
        response.outputs[key].CopyFrom(tf.make_tensor_proto(outputs[key]))
    return response


def serialized_examples(model: LoadedModel, request_input) -> List[bytes]:
    """The examples of a Regress/Classify ``Input`` as serialized tf.Examples, context merged.

    Raises:
      InvalidRequest: the input holds no example.
    """
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        out = [e.SerializeToString() for e in request_input.example_list.examples]
    elif kind == "example_list_with_context":
        lst = request_input.example_list_with_context
        context = lst.context.SerializeToString()
        out = [context + e.SerializeToString() for e in lst.examples]
    else:
        out = []
    if not out:
        raise InvalidRequest(f"Input to model {model.name!r} is empty: it has no examples")
    return out


def _run_examples(model: LoadedModel, request, method: str, limits: Limits):
    sig = model.signature(request.model_spec.signature_name, method)
    examples = serialized_examples(model, request.input)
    limits.check_batch(model, len(examples))
    (input_key,) = sig.inputs
    return model.run(request.model_spec.signature_name,
                     {input_key: np.array(examples, dtype=object)})


def regress(model: LoadedModel, request, limits: Limits):
    """RegressionRequest -> RegressionResponse: one ``value`` per example, in order."""
    from tensorflow_serving.apis import regression_pb2

    outputs = _run_examples(model, request, REGRESS_METHOD, limits)
    (values,) = outputs.values()
    response = regression_pb2.RegressionResponse()
    _fill_spec(response.model_spec, model, request.model_spec.signature_name)
    response.result.regressions.extend(
        regression_pb2.Regression(value=float(v)) for v in np.reshape(values, [-1]))
    return response


def classify(model: LoadedModel, request, limits: Limits):
    """ClassificationRequest -> ClassificationResponse: per example, every (label, score)."""
    from tensorflow_serving.apis import classification_pb2

    outputs = _run_examples(model, request, CLASSIFY_METHOD, limits)
    scores, classes = outputs["scores"], outputs.get("classes")
    response = classification_pb2.ClassificationResponse()
    _fill_spec(response.model_spec, model, request.model_spec.signature_name)
    for i, row in enumerate(scores):
        c = response.result.classifications.add()
        for j, score in enumerate(row):
            label = classes[i][j].decode("utf-8") if classes is not None else str(j)
            c.classes.add(label=label, score=float(score))
    return response
