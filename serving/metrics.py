"""Prometheus metrics of a serving process (``lt4rec serve --metrics-port P``: text format at
``http://HOST:P/metrics``).

Requests (every unary call on the public port that reaches a servicer; calls gRPC itself
refuses before that — over ``--max-concurrent-rpcs`` or the message size — are not seen; the
ranking service's calls to this process's own models are function calls, not RPCs), named as
go-grpc-prometheus names them so existing dashboards work:

* ``grpc_server_started_total{grpc_service, grpc_method}``
* ``grpc_server_handled_total{grpc_service, grpc_method, grpc_code}``
* ``grpc_server_handling_seconds{grpc_service, grpc_method}`` (histogram)
* ``lt4rec_grpc_in_flight_requests`` (gauge)

Models (from the model registry; absent with ``--target``):

* ``lt4rec_model_version{model}``: the newest version served;
* ``lt4rec_model_versions_loaded{model}``: how many versions are loaded;
* ``lt4rec_model_swaps_total{model}``: times the served versions changed after the first load;
* ``lt4rec_model_load_failures_total{model}``: versions that failed to load.

Each ``Metrics`` has its own registry, so several servers in one process do not collide.

Worker processes (``lt4rec serve --workers N``): prometheus_client's multiprocess mode. The
parent sets ``PROMETHEUS_MULTIPROC_DIR`` for the workers, each writes its samples there, and
the parent alone serves ``--metrics-port`` (``serve_collected``), so one scrape sees the whole
pod: counters and histograms summed over the workers, ``lt4rec_grpc_in_flight_requests`` the
sum over live workers, and the two model gauges the *lowest* value any live worker reports
(the version every worker serves; a worker that has loaded nothing shows 0). Each worker
loads and swaps on its own, so ``lt4rec_model_swaps_total`` and
``lt4rec_model_load_failures_total`` count once per worker (N per new version).
"""

from __future__ import annotations

import asyncio
import time
from typing import Dict, List, Optional

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

# Rank requests take milliseconds to about a second; health checks microseconds.
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                     5.0, 10.0)


def split_method(full_method: str):
    """``/pkg.Service/Method`` -> (``pkg.Service``, ``Method``)."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service, method


class Metrics:
    """The collectors, the gRPC interceptor that feeds them, and the HTTP endpoint."""

    def __init__(self):
        self.registry = CollectorRegistry()
        labels = ("grpc_service", "grpc_method")
        reg = {"registry": self.registry}
        self.started = Counter("grpc_server_started_total", "RPCs started on the server.",
                               labels, **reg)
        self.handled = Counter("grpc_server_handled_total", "RPCs completed on the server, by "
                               "status code.", labels + ("grpc_code",), **reg)
        self.latency = Histogram("grpc_server_handling_seconds", "Time from the start of an RPC "
                                 "to its answer.", labels, buckets=LATENCY_BUCKETS_S, **reg)
        # multiprocess_mode: how the workers' values combine (ignored in one process)
        self.in_flight = Gauge("lt4rec_grpc_in_flight_requests", "RPCs being handled now.",
                               multiprocess_mode="livesum", **reg)
        self.version = Gauge("lt4rec_model_version", "Newest version served.", ("model",),
                             multiprocess_mode="livemin", **reg)
        self.loaded = Gauge("lt4rec_model_versions_loaded", "Versions loaded.", ("model",),
                            multiprocess_mode="livemin", **reg)
        self.swaps = Counter("lt4rec_model_swaps_total", "Changes of the served versions after "
                             "the first load.", ("model",), **reg)
        self.failures = Counter("lt4rec_model_load_failures_total", "Versions that failed to "
                                "load.", ("model",), **reg)
        self._http = None

    # -- models (a ModelRegistry observer; called from the poller's thread) --------------------
    def on_publish(self, previous: Dict[str, List[int]], served: Dict[str, List[int]]) -> None:
        for model, versions in served.items():
            self.loaded.labels(model).set(len(versions))
            if versions:
                self.version.labels(model).set(max(versions))
            if previous.get(model) and previous[model] != versions:
                self.swaps.labels(model).inc()

    def on_load_failure(self, model: str, version: int, error: str) -> None:
        self.failures.labels(model).inc()

    # -- requests ------------------------------------------------------------------------------
    def interceptor(self) -> grpc.aio.ServerInterceptor:
        return _MetricsInterceptor(self)

    # -- endpoint ------------------------------------------------------------------------------
    def serve(self, host: str, port: int) -> int:
        """Starts the HTTP endpoint in a daemon thread; returns its port (``port`` 0: any).

        Raises:
          OSError: the port cannot be bound.
        """
        self._http = _start_endpoint(host, port, self.registry)
        return self._http.server_address[1]

    def close(self) -> None:
        _stop_endpoint(self._http)
        self._http = None


def _start_endpoint(host: str, port: int, registry: CollectorRegistry):
    try:
        http, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as err:
        raise OSError(f"cannot bind the metrics port {host}:{port} ({err.strerror})") from err
    return http


def _stop_endpoint(http) -> None:
    if http is not None:
        http.shutdown()
        http.server_close()


class CollectedEndpoint:
    """The one endpoint of several worker processes: serves what they write to ``directory``
    (prometheus_client's multiprocess mode, see the module docstring).

    Args:
      host, port: where to serve ``/metrics`` (``port`` 0: any; ``self.port`` tells which).
      directory: the workers' ``PROMETHEUS_MULTIPROC_DIR``.
    Raises:
      OSError: the port cannot be bound.
    """

    def __init__(self, host: str, port: int, directory: str):
        self.directory = directory
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        self._http = _start_endpoint(host, port, registry)
        self.port: int = self._http.server_address[1]

    def close(self) -> None:
        _stop_endpoint(self._http)
        self._http = None


def _code_of(context, error: Optional[BaseException]) -> grpc.StatusCode:
    if isinstance(error, asyncio.CancelledError):
        left = context.time_remaining()
        return (grpc.StatusCode.DEADLINE_EXCEEDED if left is not None and left <= 0
                else grpc.StatusCode.CANCELLED)
    code = context.code()
    if code is not None:
        return code
    return grpc.StatusCode.UNKNOWN if error is not None else grpc.StatusCode.OK


class _MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts, times and tracks in flight every unary call (see the module docstring)."""

    def __init__(self, metrics: Metrics):
        self._m = metrics

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner, m = handler.unary_unary, self._m
        service, method = split_method(details.method)

        async def behavior(request, context):
            m.started.labels(service, method).inc()
            m.in_flight.inc()
            start, error = time.perf_counter(), None
            try:
                return await inner(request, context)
            except BaseException as err:  # noqa: BLE001  (re-raised; only its code is read)
                error = err
                raise
            finally:
                m.in_flight.dec()
                m.latency.labels(service, method).observe(time.perf_counter() - start)
                m.handled.labels(service, method, _code_of(context, error).name).inc()

        return grpc.unary_unary_rpc_method_handler(
            behavior, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
