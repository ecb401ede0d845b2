"""Server assembly: model service and/or ranking service on one port, graceful shutdown.

Three shapes (``ServerConfig``):

* models + ranking (``lt4rec serve --models DIR``): PredictionService, ModelService and
  RankingService on ``port``. The ranking service calls this process's models directly
  (``model_clients.InProcessModels``: no second gRPC hop), so while the port drains on shutdown
  (it refuses new calls), ranking requests already in flight still get their models.
* models only (``--models-only``): PredictionService and ModelService.
* ranking only (``--target HOST:PORT``): RankingService in front of another model server
  (TF Serving or ``lt4rec serve --models-only``), over gRPC (``model_clients.RemoteModels`` on
  the channel ``ops.channel`` opens: target TLS, deadline propagation, upstream health).

One process serves one ``Server``; ``serving.workers`` runs several on one port (SO_REUSEPORT,
``reuse_port``), gRPC Python's way of using every core.

The gRPC server is ``grpc.aio`` on its own event-loop thread; TensorFlow runs in a thread pool
of ``inference_threads``, except the ranking service's fused model call, which runs on the
event-loop thread itself (``inline_ranking``; see ``model_clients.InProcessModels``).
``max_concurrent_rpcs`` bounds what is admitted at once (beyond it clients get
RESOURCE_EXHAUSTED instead of the server queueing without limit: ``admission``);
``max_message_mb`` bounds a request's size (RESOURCE_EXHAUSTED from gRPC itself). ``stop``
answers new calls UNAVAILABLE, lets in-flight ones finish for up to ``grace_s``, then stops the
gRPC server and releases everything.

Operations (``ops.py``, issue 15): the port opens before the models load, the standard health
service saying NOT_SERVING (and model calls UNAVAILABLE) until both are loaded and again from
``stop`` on; metrics, TLS and request deadlines as ``ServerConfig.ops`` says. The registry's
observers: the ranking service's fused model pair first (``model_pair``), then ``FreezeHeap``
(see ``model_registry``), then health and metrics.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import threading
from typing import Optional

import grpc
from tensorflow_serving.apis import model_service_pb2, prediction_service_pb2

from lt4rec.models.tasks import OUTPUT_NAMES
from lt4rec.serving.admission import Admission
from lt4rec.serving.inference import Limits
from lt4rec.serving.model_pair import PairCache
from lt4rec.serving.model_registry import FreezeHeap, ModelRegistry
from lt4rec.serving.model_server import ModelStatusServicer, PredictionServicer
from lt4rec.serving.ops import Operations, OpsConfig
from lt4rec.serving.protos import rank_pb2, rank_pb2_grpc
from lt4rec.serving.ranking import RankingConfig, RankingServicer

_LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """What one server process serves and how (see the module docstring).

    Attributes:
      port: the public port (0: any free port; ``Server.port`` tells which).
      host: the interface to bind (``0.0.0.0``: every interface; tests use 127.0.0.1).
      models_dir: serving root with ``<name>/<version>/``; None: no model service.
      target: the model server the ranking service calls; None: this server's models.
      ranking: the ranking service's config; None: no ranking service.
      poll_interval_s: how often the model folders are scanned for new versions.
      keep_versions: how many newest versions per model stay loaded.
      limits: model-service request limits.
      inference_threads: threads running TensorFlow (model-service calls, and ranking calls
        when not ``inline_ranking``).
      inline_ranking: the ranking service's fused pCTR+pCVR call runs on the event-loop
        thread, not in the pool (``model_clients.InProcessModels``; with ``models_dir``).
      max_concurrent_rpcs: calls admitted at once; more get RESOURCE_EXHAUSTED.
      max_message_mb: largest request or response, MiB.
      grace_s: how long shutdown waits for in-flight calls.
      reuse_port: share ``port`` (and ``ops.health_port``) with other processes
        (``serving.workers``); False refuses a port already in use.
      ops: health, metrics, TLS, request deadline, drain (``ops.OpsConfig``).
    """
    port: int = 8500
    host: str = "0.0.0.0"
    models_dir: Optional[str] = None
    target: Optional[str] = None
    ranking: Optional[RankingConfig] = RankingConfig()
    poll_interval_s: float = 2.0
    keep_versions: int = 1
    limits: Limits = Limits()
    inference_threads: int = 4
    inline_ranking: bool = True
    max_concurrent_rpcs: int = 256
    max_message_mb: int = 64
    grace_s: float = 10.0
    reuse_port: bool = False
    ops: OpsConfig = OpsConfig()

    def __post_init__(self):
        if self.models_dir is None and (self.ranking is None or self.target is None):
            raise ValueError("nothing to serve: give a models directory, or a ranking service "
                             "with a --target model server")
        if self.models_dir is not None and self.target is not None:
            raise ValueError("give either a models directory or a --target model server, "
                             "not both")
        if self.ops.target_tls is not None and self.target is None:
            raise ValueError("TLS settings for a --target model server, but there is none")
        for name in ("inference_threads", "max_concurrent_rpcs", "max_message_mb"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1. Received: {name}={getattr(self, name)}")

    def grpc_options(self):
        size = self.max_message_mb * 1024 * 1024
        return [("grpc.max_send_message_length", size), ("grpc.max_receive_message_length", size)]


class Server:
    """A running server; ``start`` returns once the models are loaded and the port is open.

    Example:
      >>> server = Server(ServerConfig(port=0, models_dir="demo_output/tfx/serving"))
      >>> server.start(); print(server.port); server.stop()
    """

    def __init__(self, config: ServerConfig, loader=None):
        self.config = config
        self._loader = loader  # (name, version, path) -> LoadedModel; default load_and_warm
        self.registry = None
        self.port: Optional[int] = None
        self._loop = asyncio.new_event_loop()
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._servers = []
        self._models = None  # the ranking service's model backend
        self._executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._stopped: Optional[asyncio.Event] = None
        self._admission = Admission(config.max_concurrent_rpcs)
        self.ops = Operations(config.ops, _services(config), config.host)  # ops (issue 15)

    def _new_registry(self) -> None:
        cfg = self.config
        kwargs = {"loader": self._loader} if self._loader is not None else {}
        self.registry = ModelRegistry(cfg.models_dir, OUTPUT_NAMES, cfg.keep_versions, **kwargs)
        # the heap is frozen before health says SERVING: no full collection under traffic
        self.registry.observers.append(FreezeHeap())
        self.registry.observers.extend(self.ops.observers)  # ops: health + metrics (issue 15)

    def _new_server(self, interceptors=()):
        # gRPC sets SO_REUSEPORT by default: a second server on a taken port would silently
        # share its traffic; refuse instead, unless this is one of our own workers.
        return grpc.aio.server(options=self._server_options(), interceptors=list(interceptors))

    def _server_options(self):
        return self.config.grpc_options() + [("grpc.so_reuseport", int(self.config.reuse_port))]

    def _model_backend(self):
        from lt4rec.serving import model_clients  # deferred: TF Serving's protos (TensorFlow)

        cfg, rank = self.config, self.config.ranking
        names = (rank.pctr_model, rank.pcvr_model)
        if cfg.models_dir is not None:
            pairs = PairCache(self.registry, names, rank.signature)
            # first observer: fused before health says SERVING and before the heap is frozen
            self.registry.observers.insert(0, pairs)
            return model_clients.InProcessModels(self.registry, self._executor, names,
                                                 rank.signature, pairs, cfg.inline_ranking)
        channel = self.ops.channel(  # ops: TLS, deadline propagation, upstream health
            cfg.target, cfg.grpc_options(), names, cfg.poll_interval_s, rank.timeout_s)
        return model_clients.RemoteModels(channel, cfg.target, names, rank.signature,
                                          rank.timeout_s)

    async def _serve(self) -> None:
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        cfg = self.config
        public = self._new_server(self.ops.interceptors(self._admission))
        self._servers.append(public)
        if cfg.models_dir is not None:
            predict = PredictionServicer(self.registry, cfg.limits, self._executor)
            prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(predict, public)
            model_service_pb2_grpc.add_ModelServiceServicer_to_server(
                ModelStatusServicer(self.registry), public)
        if cfg.ranking is not None:
            self._models = self._model_backend()
            rank_pb2_grpc.add_RankingServiceServicer_to_server(
                RankingServicer(cfg.ranking, self._models), public)
        error = None
        try:
            await self.ops.start(public, self._server_options())  # ops: health, metrics
            self.port = self.ops.add_port(public, f"{cfg.host}:{cfg.port}")  # ops: TLS
        except RuntimeError:
            self.port = 0
        except OSError as err:  # the metrics or health port
            self.port, error = 0, err
        if not self.port:
            await self.ops.close()
            if self._models is not None:
                await self._models.close()
            raise error or OSError(f"cannot bind {cfg.host}:{cfg.port} (is the port in use?)")
        await public.start()
        self._stopped = asyncio.Event()
        self._ready.set()
        await self._stopped.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as err:  # noqa: BLE001  (reported to start())
            self._error = err
            self._ready.set()

    def start(self, timeout_s: float = 120.0) -> int:
        """Loads the models (when serving them), opens the port; returns the port.

        Raises:
          FileNotFoundError: a model has no loadable version.
          OSError: the port cannot be bound.
        """
        cfg = self.config
        self._executor = concurrent.futures.ThreadPoolExecutor(cfg.inference_threads,
                                                               thread_name_prefix="inference")
        if cfg.models_dir is not None:
            self._new_registry()
        self._thread = threading.Thread(target=self._run, name="grpc-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"server did not start within {timeout_s}s")
        if self._error is not None:
            self._shutdown_sync()
            raise self._error
        if self.registry is not None:
            # the port is open (health NOT_SERVING, model calls UNAVAILABLE) while loading
            try:
                self.registry.poll_once()
                self.registry.require_loaded()
            except BaseException:
                self.stop(grace_s=0)
                raise
            self.registry.start_polling(cfg.poll_interval_s)
        else:  # ranking only: still keep the collector off TensorFlow's objects
            from lt4rec.serving.model_registry import freeze_heap  # deferred: imports TensorFlow
            freeze_heap()
        return self.port

    async def _stop(self, grace_s: float) -> None:
        await self.ops.drain()  # ops: health NOT_SERVING, --drain-delay (issue 15)
        self._admission.close()  # new calls UNAVAILABLE, admitted ones run on (admission.py)
        grace_s = await self._admission.wait_idle(grace_s)
        for server in self._servers:
            await server.stop(grace_s)
        await self.ops.close()  # ops (issue 15): stops following the model server first
        if self._models is not None:
            await self._models.close()
        self._stopped.set()

    def stop(self, grace_s: Optional[float] = None) -> None:
        """Answers new calls UNAVAILABLE, waits up to ``grace_s`` for in-flight ones, stops the
        gRPC server (cancelling what still runs) and releases everything."""
        grace = self.config.grace_s if grace_s is None else grace_s
        if self._thread is not None and self._thread.is_alive() and self._stopped is not None:
            wait_s = grace + self.config.ops.drain_s + 30
            asyncio.run_coroutine_threadsafe(self._stop(grace), self._loop).result(wait_s)
        self._shutdown_sync()

    def _shutdown_sync(self) -> None:
        if self._thread is not None:
            self._thread.join(30)
        if self.registry is not None:
            self.registry.stop()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if not self._loop.is_closed() and not self._loop.is_running():
            self._loop.close()


def _services(config: ServerConfig):
    """Full names of the gRPC services ``config`` serves (the health service reports each)."""
    out = []
    if config.models_dir is not None:
        out += [prediction_service_pb2.DESCRIPTOR.services_by_name["PredictionService"].full_name,
                model_service_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name]
    if config.ranking is not None:
        out.append(rank_pb2.DESCRIPTOR.services_by_name["RankingService"].full_name)
    return out
