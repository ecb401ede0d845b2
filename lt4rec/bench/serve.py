"""Ranking latency and throughput over gRPC, next to the in-process SavedModel floor.

  lt4rec bench serve [--models DIR --logs DIR] [--candidates 100 500] [--clients 1 8]

Starts `lt4rec serve` (model + ranking service on one port) as a separate process on
127.0.0.1, then for each candidate count and each number of concurrent clients sends ranking
requests (one user, N distinct items from a log day) and reports p50/p99 latency and
requests/s. Next to each, the floor: the same batch of N serialized tf.Examples scored
in-process by the pCTR and pCVR SavedModels (both `serving_default` calls, one after the
other, as many threads as clients), so the difference is the server's overhead (gRPC,
request checks, merging, Eq. 3, sorting) minus what running the two models concurrently saves.

Without --models it exports the production-size `sparse_weight` model (models/config.py
defaults) untrained from a small simulated log: serving cost does not depend on the weights'
values (S-Weight exports dense kernels). Clients and the server share this machine's cores;
the JSON records the load average.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

from lt4rec.bench.common import DEFAULT_OUT_DIR, latency_summary, write_result
from lt4rec.models.config import make_config
from lt4rec.models.signatures import DEFAULT_SIGNATURE, EXAMPLES_INPUT
from lt4rec.schemas import logs
from lt4rec.simulator import simulate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", metavar="DIR", default=None,
                        help="serving root with pctr/<version>/, pcvr/<version>/ (default: "
                             "export an untrained production-size sparse_weight model)")
    parser.add_argument("--logs", metavar="DIR", default=None,
                        help="traffic logs the requests are drawn from (default: simulate)")
    parser.add_argument("--candidates", type=int, nargs="+", default=[100, 500],
                        help="candidates per ranking request (default 100 500)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8],
                        help="concurrent clients (default 1 8)")
    parser.add_argument("--requests", type=int, default=400,
                        help="timed requests per (candidates, clients) setting (default 400)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="untimed requests first, per setting (default 20)")


def _prepare(tmp: str, args) -> Dict[str, str]:
    """{"models": serving root, "log_file": a log day's CSV, "note": what the models are}."""
    log_dir = args.logs
    if log_dir is None:
        log_dir = os.path.join(tmp, "logs")
        simulate(log_dir, n_days=1, rows_per_day=6000, seed=11)
    log_file = logs.find_log_files(log_dir)[-1][0]
    if args.models is not None:
        return {"models": args.models, "log_file": log_file, "note": f"models from {args.models}"}
    from lt4rec.schemas.validation import validate_logs  # deferred: pandas
    from lt4rec.models.export import export_models  # deferred: TensorFlow
    from lt4rec.models.ranker import build_model  # deferred: TensorFlow
    from lt4rec.models.tasks import OUTPUT_NAMES  # deferred: TensorFlow

    columns = validate_logs(log_file, use_tfdv=False).accepted
    model = build_model(make_config("sparse_weight"), {k: v[:8] for k, v in columns.items()})
    export_models(model, os.path.join(tmp, "export"))
    root = os.path.join(tmp, "serving")
    for name in OUTPUT_NAMES:
        shutil.copytree(os.path.join(tmp, "export", name), os.path.join(root, name, "1"))
    return {"models": root, "log_file": log_file,
            "note": "untrained production-size sparse_weight export (models/config.py defaults)"}


def _start_server(models: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "lt4rec.cli", "serve", "--models", models,
                             "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 300
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        if "listening on" in line:
            return proc
    proc.kill()
    raise RuntimeError(f"lt4rec serve did not start (last output: {line!r})")


def _timed(call, n_clients: int, n_requests: int, warmup: int):
    """Runs ``call`` ``warmup`` times, then ``n_requests`` times over ``n_clients`` threads.

    Returns:
      (latencies in seconds, wall seconds of the timed part).
    """
    for _ in range(warmup):
        call()
    per_client = max(1, n_requests // n_clients)

    def client(_):
        out = []
        for _ in range(per_client):
            started = time.perf_counter()
            call()
            out.append(time.perf_counter() - started)
        return out

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(n_clients) as pool:
        latencies: List[float] = [x for part in pool.map(client, range(n_clients)) for x in part]
    return latencies, time.perf_counter() - started


def _summary(latencies, wall):
    return dict(latency_summary(latencies), requests_per_s=len(latencies) / wall)


def main(args: argparse.Namespace) -> int:
    import grpc
    import portpicker
    import tensorflow as tf

    from lt4rec.models.tasks import OUTPUT_NAMES  # deferred: TensorFlow
    from lt4rec.serving.protos import rank_pb2_grpc  # deferred: gRPC, TensorFlow
    from lt4rec.serving.rank_request import (  # deferred: gRPC, TensorFlow
        json_from_log_file, request_from_json)

    tmp = tempfile.mkdtemp(prefix="lt4rec-bench-serve-")
    try:
        setup = _prepare(tmp, args)
        requests = {n: request_from_json(json_from_log_file(setup["log_file"], n))
                    for n in args.candidates}
        loaded = {name: tf.saved_model.load(os.path.join(setup["models"], name, str(max(
            int(v) for v in os.listdir(os.path.join(setup["models"], name)) if v.isdigit()))))
            for name in OUTPUT_NAMES}
        rows = []
        for n, request in requests.items():
            batch = tf.constant([request.context.SerializeToString()
                                 + c.features.SerializeToString() for c in request.candidates])

            def in_process():
                for name, model in loaded.items():
                    model.signatures[DEFAULT_SIGNATURE](**{EXAMPLES_INPUT: batch})[name].numpy()
            for clients in args.clients:
                floor = _summary(*_timed(in_process, clients, args.requests, args.warmup))
                rows.append({"candidates": n, "clients": clients, "path": "in-process SavedModel",
                             **floor})
        port = portpicker.pick_unused_port()
        server = _start_server(setup["models"], port)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = rank_pb2_grpc.RankingServiceStub(channel)
                for n, request in requests.items():
                    for clients in args.clients:
                        grpc_row = _summary(*_timed(lambda: stub.Rank(request, timeout=60),
                                                    clients, args.requests, args.warmup))
                        rows.append({"candidates": n, "clients": clients,
                                     "path": "gRPC Rank (lt4rec serve)", **grpc_row})
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows.sort(key=lambda r: (r["candidates"], r["clients"], r["path"]))
    print(f"{'candidates':>10} {'clients':>7}  {'path':<26} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'req/s':>8}")
    for r in rows:
        print(f"{r['candidates']:>10} {r['clients']:>7}  {r['path']:<26} {r['p50_ms']:>8.2f} "
              f"{r['p99_ms']:>8.2f} {r['requests_per_s']:>8.1f}")
    path = write_result("serve", {"models": setup["note"], "requests_per_setting": args.requests,
                                  "rows": rows}, args.out_dir or DEFAULT_OUT_DIR)
    print(f"results: {path}")
    return 0
