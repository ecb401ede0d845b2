"""Serve the pushed pCTR/pCVR models and the ranking service over gRPC.

  lt4rec serve --models DIR [--port 8500]          model service + ranking service, one port
  lt4rec serve --models DIR --models-only          TF Serving's API only (PredictionService,
                                                   ModelService.GetModelStatus)
  lt4rec serve --target HOST:PORT [--port 8600]    ranking service in front of another model
                                                   server (TF Serving, or the line above)

DIR is a serving root as DualPusher writes it: DIR/pctr/<version>/, DIR/pcvr/<version>/. The
port opens first (health NOT_SERVING, model calls UNAVAILABLE), then the newest version of each
is loaded with its warm-up records replayed, and the "listening on HOST:PORT:" line is printed;
DIR is re-scanned every --poll-interval seconds and a new version is swapped in once fully
loaded, without failing a request. Ranking: rankscore = pCTR^a * pCVR^b * video_length^c.
SIGTERM or Ctrl-C stops gracefully: health turns NOT_SERVING, new calls are refused (after
--drain-delay), in-flight ones finish (--grace).

--workers N (default: one per core) runs N server processes on the one port (SO_REUSEPORT; the
kernel spreads client connections over them), each with its own copy of the models, polling
and hot-swapping on its own; SIGTERM drains every one.

Operations (README "Serving operations"): the standard gRPC health service on the same port
(service "" and each served service: SERVING once both models are loaded; "liveness"; per
worker), a Prometheus endpoint (--metrics-port; with workers the parent process serves the
sum of all of them), TLS / mutual TLS (--ssl-config-file, TF Serving's SSLConfig;
--target-ssl-* towards a remote model server), --max-message-mb, --request-timeout.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--models", metavar="DIR",
                       help="serving root holding pctr/<version>/ and pcvr/<version>/")
    where.add_argument("--target", metavar="HOST:PORT",
                       help="serve only the ranking service, calling this model server")
    parser.add_argument("--models-only", action="store_true",
                        help="with --models: no ranking service, TF Serving's API only")
    parser.add_argument("--port", type=int, default=8500,
                        help="port to listen on (default 8500, TF Serving's gRPC port; 0: any)")
    parser.add_argument("--host", default="0.0.0.0",
                        help="interface to bind (default every interface; 127.0.0.1: local only)")
    rank = parser.add_argument_group("ranking (Eq. 3)")
    rank.add_argument("--a", type=float, default=1.0, help="pCTR exponent (default 1)")
    rank.add_argument("--b", type=float, default=1.0, help="pCVR exponent (default 1)")
    rank.add_argument("--c", type=float, default=1.0, help="video length exponent (default 1: "
                                                           "a=b=c=1 ranks by expected watch time)")
    rank.add_argument("--max-candidates", type=int, default=1000,
                      help="more candidates per request is RESOURCE_EXHAUSTED (default 1000)")
    rank.add_argument("--model-timeout", type=float, default=10.0,
                      help="deadline of each model call, seconds (default 10)")
    ops = parser.add_argument_group("operation")
    ops.add_argument("--poll-interval", type=float, default=2.0,
                     help="seconds between scans of DIR for new versions (default 2)")
    ops.add_argument("--keep-versions", type=int, default=1,
                     help="newest versions per model kept loaded (default 1, as TF Serving)")
    ops.add_argument("--max-batch-size", type=int, default=4096,
                     help="most examples per model call; more is RESOURCE_EXHAUSTED")
    ops.add_argument("--inference-threads", type=int, default=4,
                     help="threads running TensorFlow (default 4)")
    ops.add_argument("--ranking-in-pool", action="store_true",
                     help="run the ranking service's fused pCTR+pCVR call in the inference "
                          "threads instead of on the event-loop thread (for models much "
                          "slower than a few ms per request, or several cores per worker)")
    ops.add_argument("--max-concurrent-rpcs", type=int, default=256,
                     help="calls admitted at once; more get RESOURCE_EXHAUSTED (default 256)")
    ops.add_argument("--grace", type=float, default=10.0,
                     help="seconds shutdown waits for in-flight calls (default 10)")
    ops.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                     help="server processes sharing the port (default: one per core this "
                          f"process may use, {len(os.sched_getaffinity(0))} here); each loads "
                          "the models")
    add_ops_arguments(parser)


def add_ops_arguments(parser: argparse.ArgumentParser) -> None:
    """Health, metrics, TLS, message size and deadline flags (issue 15)."""
    ops = parser.add_argument_group("health, metrics, TLS, limits")
    ops.add_argument("--metrics-port", type=int, default=0,
                     help="serve Prometheus metrics at http://HOST:PORT/metrics (default 0: off;"
                          " with --workers one endpoint for all of them)")
    ops.add_argument("--health-port", type=int, default=0,
                     help="also serve the gRPC health service alone, plaintext, on this port "
                          "(for probes that cannot speak TLS; default 0: off)")
    ops.add_argument("--drain-delay", type=float, default=0.0, metavar="SECONDS",
                     help="on shutdown, health says NOT_SERVING this long before new calls are "
                          "refused (default 0)")
    ops.add_argument("--max-message-mb", type=int, default=64,
                     help="largest request or response, MiB; larger is RESOURCE_EXHAUSTED "
                          "(default 64)")
    ops.add_argument("--request-timeout", type=float, default=None, metavar="SECONDS",
                     help="most seconds a call may run on this server (DEADLINE_EXCEEDED beyond;"
                          " calls to --target get what is left); default: the client's deadline "
                          "only")
    ops.add_argument("--ssl-config-file", metavar="FILE",
                     help="TLS: TF Serving's SSLConfig text file (server_key, server_cert, "
                          "custom_ca, client_verify: mutual TLS); PEM inline or file paths")
    for flag, what in (("ca", "CA that signed the --target server's certificate (TLS to it)"),
                       ("cert", "client certificate for mutual TLS to --target"),
                       ("key", "client key for mutual TLS to --target"),
                       ("server-name", "name to check the --target certificate against")):
        ops.add_argument(f"--target-ssl-{flag}", metavar="PEM" if flag != "server-name" else
                         "NAME", help=what)


def ops_config_from_args(args: argparse.Namespace):
    """The ``OpsConfig`` of the command line (ValueError on a bad combination)."""
    from lt4rec.serving.ops import OpsConfig  # deferred: grpc and TF Serving's protos
    from lt4rec.serving.tls import client_tls_from  # deferred: grpc

    tls_flags = (args.target_ssl_ca, args.target_ssl_cert, args.target_ssl_key,
                 args.target_ssl_server_name)
    if any(tls_flags) and args.target is None:
        raise ValueError("--target-ssl-* configure the connection to --target; there is none")
    target_tls = client_tls_from(*tls_flags, flags="--target-ssl")
    return OpsConfig(metrics_port=args.metrics_port, request_timeout_s=args.request_timeout,
                     ssl_config_file=args.ssl_config_file, target_tls=target_tls,
                     drain_s=args.drain_delay, health_port=args.health_port)


def config_from_args(args: argparse.Namespace):
    """The ``ServerConfig`` of the command line (ValueError on a bad combination)."""
    from lt4rec.serving.inference import Limits  # deferred: TensorFlow, gRPC
    from lt4rec.serving.ranking import RankingConfig  # deferred: TensorFlow, gRPC
    from lt4rec.serving.server import ServerConfig  # deferred: TensorFlow, gRPC

    if args.models_only and args.models is None:
        raise ValueError("--models-only needs --models DIR")
    ranking = None if args.models_only else RankingConfig(
        a=args.a, b=args.b, c=args.c, max_candidates=args.max_candidates,
        timeout_s=args.model_timeout)
    return ServerConfig(port=args.port, host=args.host, models_dir=args.models,
                        target=args.target, ranking=ranking, poll_interval_s=args.poll_interval,
                        keep_versions=args.keep_versions,
                        limits=Limits(max_batch_size=args.max_batch_size),
                        inference_threads=args.inference_threads,
                        inline_ranking=not args.ranking_in_pool,
                        max_concurrent_rpcs=args.max_concurrent_rpcs, grace_s=args.grace,
                        max_message_mb=args.max_message_mb, ops=ops_config_from_args(args))


def _describe(config, registry=None) -> str:
    parts = []
    if registry is not None:
        models = ", ".join(f"{m.name} v{m.version}" for m in
                           (registry.get(n) for n in registry.names))
        parts.append(f"models {models} from {config.models_dir}")
    elif config.models_dir is not None:
        parts.append(f"models from {config.models_dir}")
    if config.ranking is not None:
        r = config.ranking
        parts.append(f"ranking a={r.a:g} b={r.b:g} c={r.c:g} (models at "
                     f"{config.target or 'this server'})")
    return "; ".join(parts)


def _describe_ops(tls, metrics_port, health_port) -> str:
    """``; TLS; metrics :P/metrics; health :P`` (what is on), after the listening line's colon:
    scripts parse ``listening on HOST:PORT:``."""
    parts = [("mutual TLS" if tls.client_verify else "TLS") if tls else ""]
    if metrics_port:
        parts.append(f"metrics :{metrics_port}/metrics")
    if health_port:
        parts.append(f"health :{health_port}")
    return "".join(f"; {p}" for p in parts if p)


def _stop_event() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _serve_one(config, host: str) -> int:
    from lt4rec.serving.server import Server  # deferred: TensorFlow, gRPC

    server = Server(config)
    stop = _stop_event()
    try:
        port = server.start()
    except OSError as err:
        if isinstance(err, FileNotFoundError):
            raise
        print(f"lt4rec serve: error: {err}", file=sys.stderr)
        return 2
    ops = server.ops
    print(f"lt4rec serve: listening on {host}:{port}: {_describe(config, server.registry)}"
          f"{_describe_ops(ops.tls, ops.metrics_port, ops.health_port)}", flush=True)
    stop.wait()
    print(f"lt4rec serve: stopping; in-flight calls get up to {config.grace_s:g}s",
          file=sys.stderr, flush=True)
    server.stop()
    print("lt4rec serve: stopped", file=sys.stderr, flush=True)
    return 0


def _serve_workers(config, host: str, n_workers: int) -> int:
    from lt4rec.serving.tls import read_ssl_config  # deferred: grpc
    from lt4rec.serving.workers import serve_workers  # deferred: keeps `lt4rec --help` instant

    tls = config.ops.ssl_config_file and read_ssl_config(config.ops.ssl_config_file)

    def ready(ports):
        print(f"lt4rec serve: listening on {host}:{ports.port}: {_describe(config)}"
              f"{_describe_ops(tls, ports.metrics_port, ports.health_port)}; "
              f"{n_workers} worker processes", flush=True)

    stop = _stop_event()
    try:
        code = serve_workers(config, n_workers, stop, ready)
    except (OSError, RuntimeError, TimeoutError) as err:
        print(f"lt4rec serve: error: {err}", file=sys.stderr)
        return 2
    print("lt4rec serve: stopped" if code == 0 else "lt4rec serve: a worker died; stopped",
          file=sys.stderr, flush=True)
    return code


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = config_from_args(args)
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1; received {args.workers}")
    if args.workers == 1:
        return _serve_one(config, args.host)
    return _serve_workers(config, args.host, args.workers)
