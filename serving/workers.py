"""Several server processes on one port, so every core serves (gRPC Python's multiprocessing
pattern: one ``grpc.aio`` server per process, SO_REUSEPORT, the kernel spreading connections).

``serve_workers(config, n)``:

1. reserves ``config.port`` in this (parent) process: a probe bind *without* SO_REUSEPORT
   first, so a port some other server holds is a clear error as with one process, then a
   SO_REUSEPORT socket that stays bound (not listening) so the port remains ours (port 0:
   the kernel's free port);
2. starts ``n`` worker processes (``spawn``: gRPC and TensorFlow must not be forked once
   initialised), each a ``Server`` with ``reuse_port`` on that port that loads the models,
   polls the model folder and hot-swaps new versions on its own; TensorFlow's intra-op
   threads per worker are cores / workers, so the workers share the cores instead of each
   oversubscribing all of them;
3. on SIGTERM / SIGINT forwards SIGTERM to every worker: each refuses new calls, lets its
   in-flight ones finish (``grace_s``) and exits; the parent waits for all of them.

A worker that dies takes the others down and ``serve_workers`` returns non-zero, so the
orchestrator restarts the whole set rather than serving on fewer cores unnoticed.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import multiprocessing
import os
import queue as queue_lib
import signal
import socket
import threading
from typing import Callable, Iterator, List

from lt4rec.serving.server import Server, ServerConfig

_LOG = logging.getLogger(__name__)


@contextlib.contextmanager
def reserve_port(host: str, port: int) -> Iterator[int]:
    """Holds ``host:port`` for SO_REUSEPORT sharers; yields the port (the free one for 0).

    Raises:
      OSError: the port is in use by a socket that is not ours.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    address = (host.strip("[]"), port)
    if port:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # SO_REUSEADDR as gRPC's own bind: a listener (or a bound socket without it, such
            # as another server's reservation) refuses the probe, TIME_WAIT leftovers do not
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as err:
                raise OSError(f"cannot bind {host}:{port} (is the port in use?)") from err
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _stop_with_parent() -> None:
    """Linux: SIGTERM this process when the parent dies, even by SIGKILL (no orphan keeps
    serving the port)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker(config: ServerConfig, ready: multiprocessing.Queue, tf_threads: int) -> None:
    """One worker process: serve until SIGTERM/SIGINT, then drain and exit."""
    import tensorflow as tf

    _stop_with_parent()

    # cores / workers threads per op: the workers together use every core without each
    # spreading one op over all of them (the two model calls of a request still run at once)
    tf.config.threading.set_intra_op_parallelism_threads(tf_threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [worker %(process)d]"
                                                   " %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = Server(config)
    try:
        server.start()
    except BaseException as err:  # noqa: BLE001  (reported to the parent)
        ready.put(("error", f"{type(err).__name__}: {err}"))
        raise SystemExit(1)
    ready.put(("ready", ""))
    stop.wait()
    server.stop()


def _wait_ready(procs: List, ready: multiprocessing.Queue, timeout_s: float) -> None:
    for _ in procs:
        try:
            kind, message = ready.get(timeout=timeout_s)
        except queue_lib.Empty:
            raise TimeoutError(f"workers did not start within {timeout_s}s") from None
        if kind == "error":
            raise RuntimeError(f"a worker failed to start: {message}")


def _stop_all(procs: List, grace_s: float) -> None:
    for p in procs:
        if p.is_alive():
            p.terminate()  # SIGTERM: the worker drains
    for p in procs:
        p.join(grace_s + 30)
        if p.is_alive():
            _LOG.error("worker %d did not stop in time; killing it", p.pid)
            p.kill()
            p.join()


def serve_workers(config: ServerConfig, n_workers: int, stop: threading.Event,
                  on_ready: Callable[[int], None] = lambda port: None,
                  start_timeout_s: float = 600.0) -> int:
    """Runs ``n_workers`` server processes on ``config.port`` until ``stop`` is set.

    Args:
      config: what each worker serves (``reuse_port`` is set here).
      n_workers: processes (>= 1).
      stop: set it (e.g. from a signal handler) to drain and stop every worker.
      on_ready: called with the port once every worker is serving.
    Returns:
      0 after a requested stop; 1 if a worker died.
    Raises:
      OSError: the port is in use. RuntimeError / TimeoutError: a worker failed to start.
    """
    if n_workers < 1:
        raise ValueError(f"`n_workers` must be >= 1. Received: n_workers={n_workers}")
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    with reserve_port(config.host, config.port) as port:
        worker_config = dataclasses.replace(config, port=port, reuse_port=True)
        tf_threads = max(1, len(os.sched_getaffinity(0)) // n_workers)
        procs = [ctx.Process(target=_worker, args=(worker_config, ready, tf_threads), daemon=True,
                             name=f"lt4rec-serve-{i}") for i in range(n_workers)]
        for p in procs:
            p.start()
        try:
            _wait_ready(procs, ready, start_timeout_s)
            on_ready(port)
            while not stop.wait(0.5):
                dead = [p for p in procs if not p.is_alive()]
                if dead:
                    _LOG.error("worker %d exited with %s; stopping the others", dead[0].pid,
                               dead[0].exitcode)
                    return 1
            return 0
        finally:
            _stop_all(procs, config.grace_s)
