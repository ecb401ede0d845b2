"""The standard gRPC health service (``grpc.health.v1.Health``, package grpcio-health-checking)
as Kubernetes ``grpc:`` probes, ``grpc_health_probe`` and load balancers call it.

Service names and what SERVING means:

* ``""`` (the whole server), ``tensorflow.serving.PredictionService``,
  ``tensorflow.serving.ModelService``, ``lt4rec.serving.RankingService`` (those this server
  serves): SERVING once both models (pctr, pcvr) have a version loaded, NOT_SERVING before, and
  NOT_SERVING again from the moment shutdown starts (SIGTERM), while in-flight calls drain.
  With ``--target`` the models are another server's: SERVING while that server reports an
  AVAILABLE version of both (``ModelService.GetModelStatus``, polled every
  ``--poll-interval`` seconds; TF Serving answers it too).
* ``liveness``: SERVING whenever the process answers, during loading and draining too: for
  liveness probes, which must not restart a pod that is loading, draining or waiting for its
  model server.
Any other name is NOT_FOUND, as the protocol says.

With ``--workers N`` each worker process answers for itself (its own loads, its own drain) on
the shared port, so a probe learns the state of the worker its connection landed on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, List, Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

_LOG = logging.getLogger(__name__)

OVERALL = ""
LIVENESS = "liveness"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Health:
    """The health statuses of one server process (see the module docstring).

    Args:
      services: the full names of the gRPC services this process serves.
    """

    def __init__(self, services: Sequence[str]):
        self.services = (OVERALL,) + tuple(services)
        self.servicer = health_aio.HealthServicer()
        self.serving = False
        self._draining = False
        self._loop = None

    async def start(self, *servers) -> None:
        """Registers the health service on ``servers``, everything NOT_SERVING but liveness
        (call on the server's event loop, before its ports open)."""
        self._loop = asyncio.get_running_loop()
        for server in servers:
            health_pb2_grpc.add_HealthServicer_to_server(self.servicer, server)
        await self._set_all(NOT_SERVING)
        await self.servicer.set(LIVENESS, SERVING)

    async def _set_all(self, status) -> None:
        for service in self.services:
            await self.servicer.set(service, status)

    async def set_serving(self, serving: bool) -> None:
        """SERVING or NOT_SERVING for every service but liveness; ignored once draining."""
        if self._draining or serving == self.serving:
            return
        self.serving = serving
        _LOG.info("health: %s", "SERVING" if serving else "NOT_SERVING")
        await self._set_all(SERVING if serving else NOT_SERVING)

    async def drain(self) -> None:
        """NOT_SERVING for good (shutdown has started); liveness stays SERVING."""
        await self.set_serving(False)
        self._draining = True

    def on_publish(self, previous: Dict[str, List[int]], served: Dict[str, List[int]]) -> None:
        """ModelRegistry observer (poller thread): SERVING iff every model has a version."""
        if self._loop is None or self._loop.is_closed():
            return
        update = self.set_serving(all(served.values()))
        try:
            asyncio.run_coroutine_threadsafe(update, self._loop)
        except RuntimeError:  # the server stopped while this poll ran
            update.close()

    def on_load_failure(self, model: str, version: int, error: str) -> None:
        """ModelRegistry observer: a failed version keeps the previous one serving."""

    async def watch_upstream(self, channel: grpc.aio.Channel, models: Sequence[str],
                             interval_s: float, timeout_s: float) -> None:
        """Follows a remote model server's model status until cancelled."""
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        while True:
            await self.set_serving(await upstream_ready(stub, models, timeout_s))
            await asyncio.sleep(interval_s)


async def upstream_ready(stub, models: Sequence[str], timeout_s: float) -> bool:
    """Whether the model server behind ``stub`` has an AVAILABLE version of every model."""
    available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
    for model in models:
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = model
        try:
            response = await stub.GetModelStatus(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as err:
            _LOG.debug("model server status of %s: %s", model, err.code().name)
            return False
        if not any(s.state == available for s in response.model_version_status):
            return False
    return True
