"""Serving operations around the gRPC servers: health, metrics, TLS, deadlines and drain.

``Server`` (server.py) calls ``Operations`` at five points: when it creates its public gRPC
server (``interceptors``), before the port opens (``start``: health service, metrics endpoint,
health-only port), when it binds the port (``add_port``: TLS or plaintext), when it opens its
channel to a remote model server (``channel``; only with ``--target``: this process's own
models are called in-process), and when it stops (``drain`` first, ``close`` last). The model
registry reports loads and swaps to ``observers``.

With ``--workers N`` (``workers.py``) each worker process has its own ``Operations``: health
and TLS per worker on the shared port(s); metrics are written to prometheus_client's
multiprocess directory (``metrics_in_parent``) and the parent serves them on one endpoint.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import List, Optional, Sequence

import grpc

from lt4rec.serving.deadline import DeadlineInterceptor, PropagateDeadline
from lt4rec.serving.health import Health
from lt4rec.serving.metrics import Metrics
from lt4rec.serving.tls import ClientTLS, channel, read_ssl_config

_LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class OpsConfig:
    """How the server is operated (``lt4rec serve`` flags in brackets).

    Attributes:
      metrics_port: the Prometheus endpoint's port; 0: no endpoint [--metrics-port].
      request_timeout_s: most seconds one call may take on the server (DEADLINE_EXCEEDED
        beyond); None: only the client's deadline [--request-timeout].
      ssl_config_file: TF Serving SSLConfig text file: TLS, or mutual TLS with
        ``client_verify``; None: plaintext [--ssl-config-file].
      target_tls: TLS of the ranking service's calls to a remote model server
        [--target-ssl-ca, --target-ssl-cert, --target-ssl-key, --target-ssl-server-name].
      drain_s: seconds between health turning NOT_SERVING on shutdown and the port refusing
        new calls, for load balancers that follow health checks [--drain-delay].
      health_port: a plaintext port serving only the health service, for probes that cannot
        speak TLS (Kubernetes' ``grpc:`` probes); 0: none [--health-port].
      metrics_in_parent: a worker of ``--workers``: collect metrics for the parent's endpoint
        on ``metrics_port`` (``metrics.serve_collected``) instead of serving one.
    """
    metrics_port: int = 0
    request_timeout_s: Optional[float] = None
    ssl_config_file: Optional[str] = None
    target_tls: Optional[ClientTLS] = None
    drain_s: float = 0.0
    health_port: int = 0
    metrics_in_parent: bool = False

    def __post_init__(self):
        if self.request_timeout_s is not None and not self.request_timeout_s > 0:
            raise ValueError(f"`request_timeout_s` must be > 0. Received: "
                             f"request_timeout_s={self.request_timeout_s}")
        if self.drain_s < 0:
            raise ValueError(f"`drain_s` must be >= 0. Received: drain_s={self.drain_s}")


class Operations:
    """Health, metrics, TLS and deadlines of one server (see the module docstring).

    Args:
      config: what to turn on.
      services: full names of the gRPC services served (health reports each).
      host: the interface the metrics and health-only ports bind.

    Raises:
      ValueError: a bad SSL config file (read here, so it fails before anything starts).
    """

    def __init__(self, config: OpsConfig, services: Sequence[str], host: str = "0.0.0.0"):
        self.config, self.host = config, host
        self.health = Health(services)
        self.metrics = Metrics() if config.metrics_port else None
        self.tls = read_ssl_config(config.ssl_config_file) if config.ssl_config_file else None
        self.metrics_port: Optional[int] = None
        self.health_port: Optional[int] = None
        self._health_server = None
        self._tasks: List[asyncio.Task] = []

    @property
    def observers(self) -> list:
        """What the model registry reports loads and swaps to."""
        return [self.health] + ([self.metrics] if self.metrics else [])

    def interceptors(self, admission=None) -> list:
        """Server interceptors of the public server: metrics outermost (refused calls counted
        with their code), then ``admission`` (``admission.Admission``), then the deadline."""
        out = [self.metrics.interceptor()] if self.metrics else []
        out += [admission] if admission is not None else []
        return out + [DeadlineInterceptor(self.config.request_timeout_s)]

    async def start(self, public, server_options) -> None:
        """Health service on ``public`` (and the health-only port), metrics endpoint.

        Raises:
          OSError: the metrics or health port cannot be bound.
        """
        cfg = self.config
        servers = [public]
        if cfg.health_port:
            self._health_server = grpc.aio.server(options=server_options)
            servers.append(self._health_server)
        await self.health.start(*servers)
        if self._health_server is not None:
            self.health_port = _bind(self._health_server.add_insecure_port,
                                     f"{self.host}:{cfg.health_port}", "health")
            await self._health_server.start()
        if self.metrics is not None and not cfg.metrics_in_parent:
            self.metrics_port = self.metrics.serve(self.host, cfg.metrics_port)

    def add_port(self, server, address: str) -> int:
        """Binds ``address``: TLS when an SSL config is given; 0 when it cannot be bound."""
        if self.tls is None:
            return server.add_insecure_port(address)
        return server.add_secure_port(address, self.tls.credentials())

    def channel(self, target: str, options, models: Sequence[str], poll_s: float = 2.0,
                timeout_s: float = 10.0) -> grpc.aio.Channel:
        """The aio channel to a remote model server (``--target``; call on the server's event
        loop): TLS as ``target_tls`` says, each call's timeout cut to what the serving request
        has left, and health following that server's ``models`` every ``poll_s`` seconds."""
        ch = channel(target, self.config.target_tls, options, aio=True,
                     interceptors=[PropagateDeadline()])
        self._tasks.append(asyncio.get_running_loop().create_task(
            self.health.watch_upstream(ch, models, poll_s, timeout_s)))
        return ch

    async def drain(self) -> None:
        """Health NOT_SERVING, then ``drain_s`` seconds still taking calls (not when it was
        not SERVING: no balancer is sending traffic then)."""
        was_serving = self.health.serving
        await self.health.drain()
        if self.config.drain_s and was_serving:
            _LOG.info("draining: health NOT_SERVING, taking calls for %gs more",
                      self.config.drain_s)
            await asyncio.sleep(self.config.drain_s)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._health_server is not None:
            await self._health_server.stop(0)
        if self.metrics is not None:
            self.metrics.close()


def _bind(add_port, address: str, what: str) -> int:
    try:
        port = add_port(address)
    except RuntimeError:
        port = 0
    if not port:
        raise OSError(f"cannot bind the {what} port {address} (is the port in use?)")
    return port
