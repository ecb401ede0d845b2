"""Several server processes on one port, so every core serves (gRPC Python's multiprocessing
pattern: one ``grpc.aio`` server per process, SO_REUSEPORT, the kernel spreading connections).

``serve_workers(config, n)``:

1. reserves ``config.port`` (and ``--health-port``) in this (parent) process: a probe bind
   *without* SO_REUSEPORT first, so a port some other server holds is a clear error as with
   one process, then a SO_REUSEPORT socket that stays bound (not listening) so the port
   remains ours (port 0: the kernel's free port);
2. with ``--metrics-port``, serves the one Prometheus endpoint of all workers
   (``metrics.CollectedEndpoint``, prometheus_client's multiprocess mode over a temporary
   ``PROMETHEUS_MULTIPROC_DIR``);
3. starts ``n`` worker processes (``spawn``: gRPC and TensorFlow must not be forked once
   initialised), each a ``Server`` with ``reuse_port`` on those ports that opens them, then
   loads the models (health NOT_SERVING until then), polls the model folder and hot-swaps new
   versions on its own; health and TLS are per worker; TensorFlow's intra-op threads per
   worker are cores / workers, so the workers share the cores instead of each
   oversubscribing all of them;
4. on SIGTERM / SIGINT forwards SIGTERM to every worker: each turns health NOT_SERVING (then
   ``--drain-delay``), refuses new calls, lets its in-flight ones finish (``grace_s``) and
   exits; the parent waits for all of them.

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
import shutil
import signal
import socket
import tempfile
import threading
from typing import Callable, Iterator, List, Optional

from prometheus_client import multiprocess

from lt4rec.serving.metrics import CollectedEndpoint
from lt4rec.serving.server import Server, ServerConfig
from lt4rec.serving.tls import read_ssl_config

# read by prometheus_client when a worker imports it (before any metric exists)
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclasses.dataclass(frozen=True)
class WorkerPorts:
    """Where the workers serve: the gRPC port, the health-only port and the parent's metrics
    endpoint (None: not served)."""
    port: int
    health_port: Optional[int] = None
    metrics_port: Optional[int] = None

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


def tf_threads_per_worker(n_workers: int) -> int:
    """TensorFlow intra-op threads of each of ``n_workers`` server processes: cores / workers
    (at least 1), so the workers share the cores instead of each oversubscribing all of them."""
    return max(1, len(os.sched_getaffinity(0)) // n_workers)


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


def _stop_all(procs: List, grace_s: float, drain_s: float) -> None:
    for p in procs:
        if p.is_alive():
            p.terminate()  # SIGTERM: the worker drains
    for p in procs:
        p.join(drain_s + grace_s + 30)
        if p.is_alive():
            _LOG.error("worker %d did not stop in time; killing it", p.pid)
            p.kill()
            p.join()


@contextlib.contextmanager
def _shared_metrics(config: ServerConfig) -> Iterator[Optional[CollectedEndpoint]]:
    """With a metrics port: the parent's endpoint over a fresh multiprocess directory, and
    ``MULTIPROC_DIR_ENV`` set (for the workers this context starts)."""
    if not config.ops.metrics_port:
        yield None
        return
    directory = tempfile.mkdtemp(prefix="lt4rec-metrics-")
    before = os.environ.get(MULTIPROC_DIR_ENV)
    endpoint = None
    try:
        endpoint = CollectedEndpoint(config.host, config.ops.metrics_port, directory)
        os.environ[MULTIPROC_DIR_ENV] = directory
        yield endpoint
    finally:
        if before is None:
            os.environ.pop(MULTIPROC_DIR_ENV, None)
        else:
            os.environ[MULTIPROC_DIR_ENV] = before
        if endpoint is not None:
            endpoint.close()
        shutil.rmtree(directory, ignore_errors=True)


def _watch(procs: List, stop: threading.Event, metrics_dir: Optional[str]) -> int:
    while not stop.wait(0.5):
        dead = [p for p in procs if not p.is_alive()]
        if dead:
            if metrics_dir:  # its "live" gauges leave the sums
                multiprocess.mark_process_dead(dead[0].pid, metrics_dir)
            _LOG.error("worker %d exited with %s; stopping the others", dead[0].pid,
                       dead[0].exitcode)
            return 1
    return 0


def serve_workers(config: ServerConfig, n_workers: int, stop: threading.Event,
                  on_ready: Callable[[WorkerPorts], None] = lambda ports: None,
                  start_timeout_s: float = 600.0) -> int:
    """Runs ``n_workers`` server processes on ``config.port`` until ``stop`` is set.

    Args:
      config: what each worker serves (``reuse_port`` and the ports are set here).
      n_workers: processes (>= 1).
      stop: set it (e.g. from a signal handler) to drain and stop every worker.
      on_ready: called with the ports once every worker has loaded the models.
    Returns:
      0 after a requested stop; 1 if a worker died.
    Raises:
      OSError: a port is in use. ValueError: a bad SSL config file. RuntimeError /
      TimeoutError: a worker failed to start.
    """
    if n_workers < 1:
        raise ValueError(f"`n_workers` must be >= 1. Received: n_workers={n_workers}")
    if config.ops.ssl_config_file:
        read_ssl_config(config.ops.ssl_config_file)  # fail here, not once per worker
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    with contextlib.ExitStack() as held:
        port = held.enter_context(reserve_port(config.host, config.port))
        health_port = (held.enter_context(reserve_port(config.host, config.ops.health_port))
                       if config.ops.health_port else None)
        endpoint = held.enter_context(_shared_metrics(config))
        ops = dataclasses.replace(config.ops, health_port=health_port or 0,
                                  metrics_in_parent=endpoint is not None)
        worker_config = dataclasses.replace(config, port=port, reuse_port=True, ops=ops)
        tf_threads = tf_threads_per_worker(n_workers)
        procs = [ctx.Process(target=_worker, args=(worker_config, ready, tf_threads), daemon=True,
                             name=f"lt4rec-serve-{i}") for i in range(n_workers)]
        for p in procs:
            p.start()
        try:
            _wait_ready(procs, ready, start_timeout_s)
            on_ready(WorkerPorts(port, health_port, endpoint.port if endpoint else None))
            return _watch(procs, stop, endpoint.directory if endpoint else None)
        finally:
            _stop_all(procs, config.grace_s, config.ops.drain_s)
