"""How the ranking service reaches the pCTR and pCVR models: in this process, or over gRPC.

Both take a checked request's columns (``rank_request.RankInputs``) and call each model once,
on its raw-feature signature (``serving_raw``: one [N] tensor per serving column, no tf.Example
built or parsed), the two at once (in process: in one fused call); both return ``Scores`` per
model.

* ``InProcessModels``: the models of this process's ``ModelRegistry``, both in one TensorFlow
  call (``model_pair``), by default on the event-loop thread itself (see the class); no second
  gRPC hop, no serialization.
* ``RemoteModels``: TF Serving's ``Predict`` over a ``grpc.aio`` channel, the columns sent as
  tensor inputs; works against ``tensorflow_model_server`` and ``lt4rec serve --models-only``.
  The channel comes from ``ops.Operations.channel``: TLS / mutual TLS (``--target-ssl-*``) and
  deadline propagation (each call gets at most what the serving request has left).

Deadlines of in-process calls: the server's request deadline (``deadline.DeadlineInterceptor``)
answers DEADLINE_EXCEEDED when it passes; a TensorFlow call already running in the pool
finishes in the background (TensorFlow calls cannot be interrupted).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from typing import Dict, Tuple

import grpc
import numpy as np
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from lt4rec.serving.errors import ServingError, UpstreamError
from lt4rec.serving.model_pair import ModelPair, PairCache
from lt4rec.serving.model_registry import ModelRegistry
from lt4rec.serving.rank_request import RankInputs


@dataclasses.dataclass(frozen=True)
class Scores:
    """One model's answer: [N] float32 scores and the version that computed them."""
    values: np.ndarray
    version: int


def _checked(values: np.ndarray, name: str, n: int) -> np.ndarray:
    values = np.reshape(values, [-1])
    if values.shape[0] != n:
        raise ServingError(f"model {name!r} returned {values.shape[0]} scores for {n} candidates")
    return values


def _output(outputs: Dict[str, np.ndarray], name: str) -> np.ndarray:
    if name not in outputs:
        raise ServingError(f"model {name!r} answered without output {name!r}; outputs: "
                           f"{sorted(outputs)}")
    return outputs[name]


class InProcessModels:
    """The registry's models, called on the request's columns.

    Both models in one call when ``pairs`` has them fused (``model_pair``). That call runs
    ``inline`` on the event-loop thread by default: a worker has one core's worth of
    TensorFlow threads (``serving.workers``), so a hand-off to a pool thread buys no
    parallelism, only two thread wake-ups per request (0.36 ms of a 6.3 ms 500-candidate
    request on the 2-core VM), and under 8 clients the pool's calls, in flight at once,
    contend for the same cores (500 x 8 p99 66-68 ms in the pool, 47-51 ms inline; see
    docs/results/bench/README.md). The loop is then busy for one fused call at a time (3-4 ms
    at 500 candidates): health, admission and other calls wait at most that long, and a call's
    deadline is checked once the call ends (a TensorFlow call cannot be interrupted either
    way). ``inline=False`` (``lt4rec serve --ranking-in-pool``) runs it in ``executor`` for
    models that take much longer per request, or workers with several cores each. Models that
    are not fused (one request just before a swap, or models that cannot be fused) are called
    one by one, each in its own pool thread, in flight at once.

    Args:
      registry: this process's models (hot-swapped; a request keeps the version it fetched).
      executor: the threads TensorFlow runs in when not inline.
      names: (pCTR model, pCVR model); each model's output is named like the model.
      signature: the raw-feature signature.
      pairs: the fused pair of the newest versions (a registry observer; ``Server`` adds it).
      inline: run the fused call on the event-loop thread (see above).
    """

    def __init__(self, registry: ModelRegistry, executor: concurrent.futures.Executor,
                 names: Tuple[str, str], signature: str, pairs: PairCache, inline: bool = True):
        self._registry, self._executor = registry, executor
        self._names, self._signature, self._pairs = names, signature, pairs
        self._inline = inline

    def _run(self, model, features) -> Scores:
        outputs = model.run(self._signature, features)
        return Scores(_checked(_output(outputs, model.name), model.name,
                               next(iter(features.values())).shape[0]), model.version)

    def _run_pair(self, pair: ModelPair, features, n: int) -> Tuple[Scores, Scores]:
        ctr, cvr = pair.run(features)
        return (Scores(_checked(ctr, pair.ctr.name, n), pair.ctr.version),
                Scores(_checked(cvr, pair.cvr.name, n), pair.cvr.version))

    async def score(self, inputs: RankInputs) -> Tuple[Scores, Scores]:
        ctr, cvr = (self._registry.get(name) for name in self._names)
        pair = self._pairs.get(ctr, cvr)
        loop = asyncio.get_running_loop()
        if pair is not None and self._inline:
            return self._run_pair(pair, inputs.features, inputs.size)
        if pair is not None:
            return await loop.run_in_executor(self._executor, self._run_pair, pair,
                                              inputs.features, inputs.size)
        ctr, cvr = await asyncio.gather(*(loop.run_in_executor(self._executor, self._run, m,
                                                               inputs.features)
                                          for m in (ctr, cvr)))
        return ctr, cvr

    async def close(self) -> None:
        """Nothing to release (the server owns the registry and the executor)."""


class RemoteModels:
    """TF Serving's Predict on ``target``, the raw-feature signature's inputs as tensors.

    Args:
      channel: a ``grpc.aio`` channel to ``target`` (``ops.Operations.channel``: TLS as
        configured, each call's timeout cut to what the serving request has left); closed by
        ``close``.
      target: the model server's HOST:PORT (for error messages).
      names: (pCTR model, pCVR model).
      signature: the raw-feature signature.
      timeout_s: deadline of each call (an upper bound: the request's deadline may cut it).
    """

    def __init__(self, channel: grpc.aio.Channel, target: str, names: Tuple[str, str],
                 signature: str, timeout_s: float):
        self._target, self._names, self._signature = target, names, signature
        self._timeout = timeout_s
        self._channel = channel
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def _request(self, name: str, protos) -> predict_pb2.PredictRequest:
        req = predict_pb2.PredictRequest()
        req.model_spec.name, req.model_spec.signature_name = name, self._signature
        for key, proto in protos.items():
            req.inputs[key].CopyFrom(proto)
        req.output_filter.append(name)
        return req

    async def score(self, inputs: RankInputs) -> Tuple[Scores, Scores]:
        import tensorflow as tf

        protos = {k: tf.make_tensor_proto(v) for k, v in inputs.features.items()}
        calls = [self._stub.Predict(self._request(name, protos), timeout=self._timeout)
                 for name in self._names]
        try:
            responses = await asyncio.gather(*calls)
        except grpc.aio.AioRpcError as err:
            for call in calls:
                call.cancel()
            raise UpstreamError(err.code(), f"model server {self._target}: {err.details()}")
        out = []
        for name, response in zip(self._names, responses):
            if name not in response.outputs:
                raise ServingError(f"model {name!r} answered without output {name!r}; outputs: "
                                   f"{sorted(response.outputs)}")
            values = _checked(tf.make_ndarray(response.outputs[name]), name, inputs.size)
            out.append(Scores(values, response.model_spec.version.value))
        return out[0], out[1]

    async def close(self) -> None:
        await self._channel.close()
