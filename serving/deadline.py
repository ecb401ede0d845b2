"""Per-request deadlines: the server's own limit, and its propagation to the model server.

``DeadlineInterceptor`` (``lt4rec serve --request-timeout S``) gives every unary call at most
``S`` seconds; one that runs longer is cancelled and answered DEADLINE_EXCEEDED. A client's own
deadline (gRPC ``timeout``) is enforced by gRPC itself; the shorter of the two is the request's
deadline. While a request runs, its deadline is kept in a context variable, and
``PropagateDeadline`` (a client interceptor on the ranking service's channel to a remote model
server, ``--target``: ``model_clients.RemoteModels``) shortens each model call's timeout to the
time the request has left, so a model call never outlives the request that made it
(``--model-timeout`` stays the upper bound). Models called in-process need no propagation: the
request's deadline above bounds the whole call.
Streaming calls (health ``Watch``) have no server-side deadline.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Optional

import grpc

_REQUEST_DEADLINE: contextvars.ContextVar[Optional[float]] = contextvars.ContextVar(
    "lt4rec_request_deadline", default=None)


def request_time_left() -> Optional[float]:
    """Seconds the request being served has left (None: no deadline, or not in a request)."""
    deadline = _REQUEST_DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


def _shortest(*timeouts: Optional[float]) -> Optional[float]:
    given = [t for t in timeouts if t is not None]
    return min(given) if given else None


class DeadlineInterceptor(grpc.aio.ServerInterceptor):
    """Bounds each unary call by ``timeout_s`` (None: only the client's deadline applies)."""

    def __init__(self, timeout_s: Optional[float] = None):
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"`request_timeout_s` must be > 0. Received: {timeout_s}")
        self.timeout_s = timeout_s

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner, limit, method = handler.unary_unary, self.timeout_s, details.method

        async def behavior(request, context):
            left = _shortest(limit, context.time_remaining())
            token = _REQUEST_DEADLINE.set(None if left is None else time.monotonic() + left)
            try:
                if limit is None:
                    return await inner(request, context)
                try:
                    return await asyncio.wait_for(inner(request, context), limit)
                except asyncio.TimeoutError:
                    await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                                        f"{method} ran longer than the server's request deadline "
                                        f"of {limit:g}s (--request-timeout)")
            finally:
                _REQUEST_DEADLINE.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            behavior, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)


class PropagateDeadline(grpc.aio.UnaryUnaryClientInterceptor):
    """Shortens an outgoing call's timeout to the serving request's time left."""

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        left = request_time_left()
        if left is not None:
            timeout = _shortest(client_call_details.timeout, max(left, 0.0))
            client_call_details = client_call_details._replace(timeout=timeout)
        return await continuation(client_call_details, request)
