"""The serving layer's errors: each carries the gRPC status code the client receives.

Servicers raise ``ServingError`` subclasses from plain Python code; ``abort_on_error`` turns them
into ``context.abort(code, message)`` so a bad request never reaches TensorFlow half-checked and
never crashes a server thread. The codes follow TF Serving where it has one for the same case.
"""

from __future__ import annotations

import functools
import logging

import grpc

_LOG = logging.getLogger(__name__)


class ServingError(Exception):
    """A request the server refuses; ``code`` is the gRPC status the client gets."""
    code = grpc.StatusCode.INTERNAL


class InvalidRequest(ServingError):
    """A missing, mistyped or out-of-bounds input; an empty batch or candidate list."""
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServingError):
    """An unknown model name or a version that is not loaded."""
    code = grpc.StatusCode.NOT_FOUND


class Unavailable(ServingError):
    """Not ready yet (no version of the model loaded so far): the client may retry."""
    code = grpc.StatusCode.UNAVAILABLE


class TooLarge(ServingError):
    """A request over a configured limit (examples per batch, candidates per request)."""
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class WrongSignature(ServingError):
    """A signature that does not exist or has another method (TF Serving: FAILED_PRECONDITION)."""
    code = grpc.StatusCode.FAILED_PRECONDITION


_TF_NOISE = ("Graph execution error", "Detected at node", "<stack traces", "\t [[")


def tf_error_text(message: str) -> str:
    """The informative line(s) of a TensorFlow error, e.g. "Feature: item_id (data type:
    int64) is required but could not be found." (graph-node and stack noise removed)."""
    lines = [line.split(" [Op:")[0].replace("Name: <unknown>, ", "").strip()
             for line in message.splitlines()
             if line.strip() and not line.startswith(_TF_NOISE)]
    return " ".join(lines) or message


def abort_on_error(method):
    """Decorates an async servicer method: ServingError -> its code; TF's InvalidArgumentError
    (e.g. an example without a required feature) -> INVALID_ARGUMENT; anything else ->
    INTERNAL with the exception's text, logged with its traceback."""
    import tensorflow as tf

    @functools.wraps(method)
    async def wrapper(self, request, context):
        try:
            return await method(self, request, context)
        except ServingError as err:
            await context.abort(err.code, str(err))
        except tf.errors.InvalidArgumentError as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, tf_error_text(err.message))
        except grpc.aio.AbortError:
            raise
        except Exception as err:  # noqa: BLE001  (a server thread must answer, not die)
            _LOG.exception("%s failed", method.__name__)
            await context.abort(grpc.StatusCode.INTERNAL, f"{type(err).__name__}: {err}")
    return wrapper


class UpstreamError(ServingError):
    """The model server refused or failed a call; its status code is passed on."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
