"""The ranking service: Eq. 3 over the pCTR and pCVR models, which it calls over gRPC.

  rankscore = pCTR^a · pCVR^b · video_length^c

Per request: check it against the contract (``rank_request.check_request``), then one batched
Predict per model (``serving_default``, input ``examples``: every candidate's tf.Example), the
two calls in flight at once, then score and sort. It speaks only TF Serving's public API to
the model server, so it runs unchanged in front of ``tensorflow_model_server`` or of LT4REC's
own model service (``lt4rec serve`` puts both on one port).

Defaults a = b = c = 1 rank by expected watch time: P(click) · E[watch ratio | click] · length.
"""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import numpy as np
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from lt4rec.models.signatures import DEFAULT_SIGNATURE, EXAMPLES_INPUT
from lt4rec.models.rankscore import rank_scores
from lt4rec.models.tasks import CTR, CVR, OUTPUT_NAMES
from lt4rec.serving.errors import ServingError, UpstreamError, abort_on_error
from lt4rec.serving.protos import rank_pb2, rank_pb2_grpc
from lt4rec.serving.rank_request import check_request


@dataclasses.dataclass(frozen=True)
class RankingConfig:
    """Eq. 3 exponents, model names and limits of the ranking service.

    Attributes:
      a, b, c: exponents of pCTR, pCVR and video length (seconds); each >= 0.
      pctr_model, pcvr_model: model names on the model server (DualPusher's folders).
      signature: the signature both models are called with; it takes serialized tf.Examples
        as ``input_name`` and returns a [B] output named like the model.
      max_candidates: more candidates in one request is RESOURCE_EXHAUSTED.
      timeout_s: deadline of each model call.
    """
    a: float = 1.0
    b: float = 1.0
    c: float = 1.0
    pctr_model: str = OUTPUT_NAMES[CTR]
    pcvr_model: str = OUTPUT_NAMES[CVR]
    signature: str = DEFAULT_SIGNATURE
    input_name: str = EXAMPLES_INPUT
    max_candidates: int = 1000
    timeout_s: float = 10.0

    def __post_init__(self):
        for name in ("a", "b", "c"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"`{name}` must be >= 0. Received: {name}={getattr(self, name)}")
        if self.max_candidates < 1:
            raise ValueError(f"`max_candidates` must be >= 1. Received: "
                             f"max_candidates={self.max_candidates}")
        if not self.timeout_s > 0:
            raise ValueError(f"`timeout_s` must be > 0. Received: timeout_s={self.timeout_s}")


def ranking_order(scores: np.ndarray) -> np.ndarray:
    """Candidate indices by score, highest first; equal scores keep request order."""
    return np.argsort(-np.asarray(scores), kind="stable")


def _examples_tensor(examples) -> tensor_pb2.TensorProto:
    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, string_val=examples,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(examples))]))


def _scores(response, name: str, n: int) -> np.ndarray:
    import tensorflow as tf

    if name not in response.outputs:
        raise ServingError(f"model {name!r} answered without output {name!r}; outputs: "
                           f"{sorted(response.outputs)}")
    values = tf.make_ndarray(response.outputs[name]).reshape(-1)
    if values.shape[0] != n:
        raise ServingError(f"model {name!r} returned {values.shape[0]} scores for {n} candidates")
    return values


class RankingServicer(rank_pb2_grpc.RankingServiceServicer):
    """``RankingService.Rank`` (see the module docstring).

    Args:
      config: exponents, model names and limits.
      channel: a ``grpc.aio`` channel to the model server.
      target: the model server's address, for error messages.
    """

    def __init__(self, config: RankingConfig, channel: grpc.aio.Channel, target: str = ""):
        self.config, self._target = config, target
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def _request(self, model: str, tensor) -> predict_pb2.PredictRequest:
        req = predict_pb2.PredictRequest()
        req.model_spec.name, req.model_spec.signature_name = model, self.config.signature
        req.inputs[self.config.input_name].CopyFrom(tensor)
        req.output_filter.append(model)
        return req

    async def _predict_both(self, examples):
        cfg = self.config
        tensor = _examples_tensor(examples)
        calls = [self._stub.Predict(self._request(m, tensor), timeout=cfg.timeout_s)
                 for m in (cfg.pctr_model, cfg.pcvr_model)]
        try:
            return await asyncio.gather(*calls)
        except grpc.aio.AioRpcError as err:
            for call in calls:
                call.cancel()
            raise UpstreamError(err.code(), f"model server {self._target}: {err.details()}")

    @abort_on_error
    async def Rank(self, request, context):  # noqa: N802
        cfg = self.config
        examples, lengths = check_request(request, cfg.max_candidates)
        ctr, cvr = await self._predict_both(examples)
        pctr = _scores(ctr, cfg.pctr_model, len(examples))
        pcvr = _scores(cvr, cfg.pcvr_model, len(examples))
        scores = rank_scores(pctr, pcvr, lengths, cfg.a, cfg.b, cfg.c)
        response = rank_pb2.RankResponse(pctr_version=ctr.model_spec.version.value,
                                         pcvr_version=cvr.model_spec.version.value,
                                         a=cfg.a, b=cfg.b, c=cfg.c)
        add = response.candidates.add
        for i in ranking_order(scores).tolist():
            add(id=request.candidates[i].id, index=i, pctr=pctr[i], pcvr=pcvr[i],
                rankscore=scores[i])
        return response
