"""Admission and drain: how many calls run at once, and how new ones are refused on shutdown.

``Admission`` is a ``grpc.aio`` server interceptor in place of gRPC's own
``maximum_concurrent_rpcs`` (``ServerConfig.max_concurrent_rpcs``):

* while open, a unary call beyond ``limit`` admitted at once is answered RESOURCE_EXHAUSTED;
* once ``close``d (``Server.stop``, after health has turned NOT_SERVING and ``--drain-delay``
  has passed), every new unary call is answered UNAVAILABLE ("draining") at once, while the
  calls already admitted run to their end; ``wait_idle`` says when none is left.

Only then is the gRPC server itself stopped. Stopping it straight away, as before, let gRPC
answer a call that raced the shutdown CANCELLED (a bare ``grpc.aio`` server, grpcio 1.85: the
first refused call of 8 in 25 stops under a client loop), a code clients and gRPC's retry
policies treat as final; UNAVAILABLE is what a replica that is gone answers and what they retry
elsewhere. A call arriving in the instant the idle server stops can still meet gRPC's own
answer. The health service (``grpc.health.v1.Health``) is neither counted nor refused: it must
keep answering NOT_SERVING to the balancers while the server drains. Streaming calls (health
``Watch``) pass through.
"""

from __future__ import annotations

import asyncio
import time
from typing import Optional

import grpc

_HEALTH = "/grpc.health.v1.Health/"


class Admission(grpc.aio.ServerInterceptor):
    """At most ``limit`` unary calls at once; after ``close``, none new (see module docstring).

    Used on the server's event loop only (interceptors run there), so it needs no lock.
    """

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"`max_concurrent_rpcs` must be >= 1. Received: {limit}")
        self.limit = limit
        self.in_flight = 0
        self.closed = False
        self._idle: Optional[asyncio.Event] = None

    def close(self) -> None:
        """From now on every new call but health is answered UNAVAILABLE."""
        self.closed = True

    async def wait_idle(self, timeout_s: float) -> float:
        """Waits up to ``timeout_s`` for the admitted calls to end; returns the seconds left."""
        end = time.monotonic() + timeout_s
        while self.in_flight:
            self._idle = asyncio.Event()
            try:
                await asyncio.wait_for(self._idle.wait(), max(0.0, end - time.monotonic()))
            except asyncio.TimeoutError:
                break
        return max(0.0, end - time.monotonic())

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if (handler is None or handler.unary_unary is None
                or details.method.startswith(_HEALTH)):
            return handler
        inner, method = handler.unary_unary, details.method

        async def behavior(request, context):
            if self.closed:
                await context.abort(grpc.StatusCode.UNAVAILABLE,
                                    f"{method}: the server is draining for shutdown; "
                                    "retry on another replica")
            if self.in_flight >= self.limit:
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                    f"{method}: {self.limit} calls already in flight "
                                    "(--max-concurrent-rpcs); retry later")
            self.in_flight += 1
            try:
                return await inner(request, context)
            finally:
                self.in_flight -= 1
                if not self.in_flight and self._idle is not None:
                    self._idle.set()

        return grpc.unary_unary_rpc_method_handler(
            behavior, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
