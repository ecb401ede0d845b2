"""The ranking service: Eq. 3 over the pCTR and pCVR models.

  rankscore = pCTR^a · pCVR^b · video_length^c

Per request: check it against the contract column by column (``rank_request.check_request``),
then both models on the raw-feature signature (``serving_raw``, the request's columns as
tensors), at once, through a ``model_clients`` backend: the models of this process when
``lt4rec serve`` holds them (one fused TensorFlow call, ``model_pair``; no second gRPC hop), or
TF Serving's Predict on a
remote model server (``tensorflow_model_server`` or ``lt4rec serve --models-only``); then score
and sort, all as arrays.

Defaults a = b = c = 1 rank by expected watch time: P(click) · E[watch ratio | click] · length.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lt4rec.models.rankscore import rank_scores
from lt4rec.models.signatures import RAW_SIGNATURE
from lt4rec.models.tasks import CTR, CVR, OUTPUT_NAMES
from lt4rec.serving.errors import abort_on_error
from lt4rec.serving.protos import rank_pb2, rank_pb2_grpc
from lt4rec.serving.rank_request import check_request


@dataclasses.dataclass(frozen=True)
class RankingConfig:
    """Eq. 3 exponents, model names and limits of the ranking service.

    Attributes:
      a, b, c: exponents of pCTR, pCVR and video length (seconds); each >= 0.
      pctr_model, pcvr_model: model names on the model server (DualPusher's folders).
      signature: the signature both models are called with; it takes one [B] tensor per
        serving column (named like the column) and returns a [B] output named like the model.
      max_candidates: more candidates in one request is RESOURCE_EXHAUSTED.
      timeout_s: deadline of each model call.
    """
    a: float = 1.0
    b: float = 1.0
    c: float = 1.0
    pctr_model: str = OUTPUT_NAMES[CTR]
    pcvr_model: str = OUTPUT_NAMES[CVR]
    signature: str = RAW_SIGNATURE
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


class RankingServicer(rank_pb2_grpc.RankingServiceServicer):
    """``RankingService.Rank`` (see the module docstring).

    Args:
      config: exponents, model names and limits.
      models: a ``model_clients`` backend (``InProcessModels`` or ``RemoteModels``).
    """

    def __init__(self, config: RankingConfig, models):
        self.config, self.models = config, models

    @abort_on_error
    async def Rank(self, request, context):  # noqa: N802
        cfg = self.config
        inputs = check_request(request, cfg.max_candidates)
        ctr, cvr = await self.models.score(inputs)
        scores = rank_scores(ctr.values, cvr.values, inputs.video_length, cfg.a, cfg.b, cfg.c)
        order = ranking_order(scores)
        response = rank_pb2.RankResponse(pctr_version=ctr.version, pcvr_version=cvr.version,
                                         a=cfg.a, b=cfg.b, c=cfg.c)
        ids = inputs.ids
        response.ids.extend([ids[i] for i in order.tolist()])
        response.index.extend(order.tolist())
        response.pctr.extend(ctr.values[order].tolist())
        response.pcvr.extend(cvr.values[order].tolist())
        response.rankscore.extend(np.asarray(scores, np.float64)[order].tolist())
        return response
