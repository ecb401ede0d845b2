"""Ranking latency and throughput over gRPC, next to the in-process floor of the same models.

  lt4rec bench serve [--models DIR --logs DIR] [--candidates 100 500] [--clients 1 8]
                     [--workers N] [--repeats 3]

Starts `lt4rec serve` (model + ranking service on one port, --workers processes) as a separate
process on 127.0.0.1, then for each candidate count and each number of concurrent clients
(each client its own gRPC connection, as separate frontends would be, so the kernel spreads
them over the workers) sends ranking requests (one user, N distinct items from a log day) and
reports p50/p99 latency, requests/s and failed calls. Next to each, the floor: the pCTR and
pCVR SavedModels called in-process with the server's own call (both on ``serving_raw`` on the
request's checked columns in one fused TensorFlow call, ``model_pair.ModelPair.run``, called
directly in each client thread), as many threads as clients, in a fresh process with one
server worker's TensorFlow thread settings (intra-op threads = cores / workers,
``floor_intra_op_threads``); ``grpc_over_floor_p50`` is the gRPC p50 over the floor's p50,
i.e. what the server adds (gRPC, request checks, Eq. 3, sorting, the response).

Two more figures split what the server adds. ``check_p50_ms`` (floor rows): the request's
contract checks alone (``rank_request.check_request``), timed in the floor's process. The
transport rows: the same requests from the same clients to a gRPC ``RankingService`` (grpc.aio,
one process) that answers each with a ready-made response of as many candidates, no checks
and no models: what gRPC Python costs per call, both ends, serialization included.
``bound_over_floor_p50`` (gRPC rows) = (floor + checks + transport p50) / floor p50: the ratio a
server that spent nothing beyond the transport, the checks and the models would reach.

Repeats: on a small VM the same call's speed differs between process starts by more than
between windows of one process (docs/results/bench/README.md), so one floor process against one
server start compares two draws. Each of ``--repeats`` starts a fresh floor process, a fresh
``lt4rec serve`` and a fresh transport server; ratios are computed within a repeat, and
``rows`` holds the median over repeats of every figure (``failed`` and ``calls`` summed), each
row with its per-repeat p50s and ratios; ``per_repeat`` holds every repeat's rows.

Without --models it exports the production-size `sparse_weight` model (models/config.py
defaults) untrained from a small simulated log: serving cost does not depend on the weights'
values (S-Weight exports dense kernels). Clients and the server share this machine's cores;
the JSON records the load average.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

import numpy as np

from lt4rec.bench.common import DEFAULT_OUT_DIR, latency_summary, write_result
from lt4rec.models.config import make_config
from lt4rec.models.signatures import RAW_SIGNATURE
from lt4rec.schemas import logs
from lt4rec.simulator import simulate

FLOOR = "in-process SavedModels"
GRPC = "gRPC Rank (lt4rec serve)"
TRANSPORT = "gRPC transport only"
_FLOOR_TEXT = ("pCTR and pCVR SavedModels in a fresh process with one server worker's TensorFlow "
               "thread settings, serving_raw on the request's checked columns, both in the "
               "server's one fused call (model_pair.ModelPair.run) made directly in each client "
               "thread")
_TRANSPORT_TEXT = ("the same requests and clients against a grpc.aio RankingService in one process "
                   "that answers each with a ready-made response of as many candidates (no "
                   "checks, no models)")


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
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="lt4rec serve --workers (default: one per core)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh floor process, server and transport server per repeat; "
                             "figures are medians over repeats (default 3)")


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


def _start_server(models: str, port: int, workers: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "lt4rec.cli", "serve", "--models", models,
                             "--port", str(port), "--host", "127.0.0.1",
                             "--workers", str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 300
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        if "listening on" in line:
            return proc
    proc.kill()
    raise RuntimeError(f"lt4rec serve did not start (last output: {line!r})")


def _timed(make_call, n_clients: int, n_requests: int, warmup: int):
    """Runs ``n_requests`` calls over ``n_clients`` threads after ``warmup`` untimed ones each;
    ``make_call(k)`` gives client k's call (its own connection, for gRPC).

    Returns:
      (latencies in seconds of answered calls, wall seconds of the timed part, failed calls).
    """
    calls = [make_call(k) for k in range(n_clients)]
    per_client = max(1, n_requests // n_clients)

    def client(k):
        out, failed = [], 0
        for _ in range(per_client):
            started = time.perf_counter()
            try:
                calls[k]()
            except Exception:  # noqa: BLE001  (a lost request is counted, not fatal)
                failed += 1
                continue
            out.append(time.perf_counter() - started)
        return out, failed

    with concurrent.futures.ThreadPoolExecutor(n_clients) as pool:
        list(pool.map(lambda k: [calls[k]() for _ in range(max(1, warmup // n_clients))],
                      range(n_clients)))
        started = time.perf_counter()
        parts = list(pool.map(client, range(n_clients)))
        wall = time.perf_counter() - started
    latencies: List[float] = [x for part, _ in parts for x in part]
    return latencies, wall, sum(f for _, f in parts)


def _summary(latencies, wall, failed):
    return dict(latency_summary(latencies), requests_per_s=len(latencies) / wall, failed=failed)


def _floor_rows(models: str, requests: Dict[int, bytes], clients: List[int], n_requests: int,
                warmup: int, intra_op_threads: int) -> List[dict]:
    """The floor rows, measured in this process; run it in a fresh one (``_floor_in_child``).

    ``requests``: {candidates: serialized RankRequest}; ``intra_op_threads``: TensorFlow's
    intra-op threads per op as a server worker sets them.
    """
    import tensorflow as tf

    # before any TensorFlow op: the thread pools are fixed at the first one
    tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)

    from lt4rec.models.tasks import OUTPUT_NAMES  # deferred: imports TensorFlow
    from lt4rec.serving.model_pair import PairCache  # deferred: imports TensorFlow
    from lt4rec.serving.model_registry import FreezeHeap, ModelRegistry  # deferred: TF
    from lt4rec.serving.protos import rank_pb2  # deferred: imports TensorFlow's protos
    from lt4rec.serving.rank_request import check_request  # deferred: imports TensorFlow

    # as in lt4rec serve: the server's fused call of both models, and a frozen heap (the floor
    # is not stalled by full collections over TensorFlow's objects)
    registry = ModelRegistry(models, OUTPUT_NAMES)
    pairs = PairCache(registry, tuple(OUTPUT_NAMES), RAW_SIGNATURE)
    registry.observers.extend([pairs, FreezeHeap()])
    registry.poll_once()
    registry.require_loaded()
    pair = pairs.get(*(registry.get(name) for name in OUTPUT_NAMES))
    if pair is None:
        raise RuntimeError("the pCTR and pCVR models cannot be fused into one call (the "
                           "server calls them one by one; see serving/model_pair.py)")
    rows = []
    for n, serialized in requests.items():
        request = rank_pb2.RankRequest.FromString(serialized)
        features = check_request(request, max_candidates=n).features
        checks = latency_summary(_timed(lambda _: lambda: check_request(request, n), 1,
                                        n_requests, warmup)[0])
        for k in clients:
            floor = _summary(*_timed(lambda _: lambda: pair.run(features), k, n_requests,
                                     warmup))
            rows.append({"candidates": n, "clients": k, "path": FLOOR, **floor,
                         "check_p50_ms": checks["p50_ms"]})
    return rows


def _floor_in_child(setup, serialized: Dict[int, bytes], args, threads: int) -> List[dict]:
    """The floor measured in a fresh process (``spawn``) with ``threads`` intra-op threads,
    as one ``lt4rec serve`` worker runs, so it compares like with like: not this process,
    whose TensorFlow runs with default threads after exporting the models."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as child:
        return child.submit(_floor_rows, setup["models"], serialized, list(args.clients),
                            args.requests, args.warmup, threads).result()


def _serve_canned(port: int, requests: Dict[int, bytes], ready) -> None:
    """A gRPC RankingService on ``port`` answering each of ``requests`` with a ready-made
    response of as many candidates (no checks, no models); runs until terminated."""
    import asyncio

    import grpc

    from lt4rec.serving.protos import rank_pb2, rank_pb2_grpc  # deferred: TF's protos

    responses = {}
    for n, serialized in requests.items():
        ids = rank_pb2.RankRequest.FromString(serialized).candidates.ids
        responses[n] = rank_pb2.RankResponse(ids=ids, index=range(n), pctr=[0.5] * n,
                                             pcvr=[0.5] * n, rankscore=[0.25] * n)

    class Canned(rank_pb2_grpc.RankingServiceServicer):
        async def Rank(self, request, context):  # noqa: N802
            return responses[len(request.candidates.ids)]

    async def run():
        server = grpc.aio.server()
        rank_pb2_grpc.add_RankingServiceServicer_to_server(Canned(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        ready.put(True)
        await server.wait_for_termination()

    asyncio.run(run())


def _client_rows(port: int, path: str, requests, args) -> List[dict]:
    """Every (candidates, clients) setting against the RankingService on ``port``."""
    import grpc

    from lt4rec.serving.protos import rank_pb2_grpc  # deferred: imports TensorFlow's protos

    channels, rows = [], []

    def make_call(request):
        def make(_):
            # its own connection (not gRPC's shared subchannel), as a separate frontend
            ch = grpc.insecure_channel(f"127.0.0.1:{port}",
                                       options=[("grpc.use_local_subchannel_pool", 1)])
            channels.append(ch)
            stub = rank_pb2_grpc.RankingServiceStub(ch)
            return lambda: stub.Rank(request, timeout=60)
        return make

    for n, request in requests.items():
        for clients in args.clients:
            try:
                row = _summary(*_timed(make_call(request), clients, args.requests, args.warmup))
            finally:
                for ch in channels:
                    ch.close()
                channels.clear()
            rows.append({"candidates": n, "clients": clients, "path": path, **row})
    return rows


def _grpc_rows(setup, requests, args) -> List[dict]:
    import portpicker

    port = portpicker.pick_unused_port()
    server = _start_server(setup["models"], port, args.workers)
    try:
        return _client_rows(port, GRPC, requests, args)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(120)


def _transport_rows(requests, serialized: Dict[int, bytes], args) -> List[dict]:
    import portpicker

    port, context = portpicker.pick_unused_port(), multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=_serve_canned, daemon=True, args=(port, serialized, ready))
    server.start()
    try:
        ready.get(timeout=300)
        return _client_rows(port, TRANSPORT, requests, args)
    finally:
        server.terminate()
        server.join(60)


def _with_ratios(rows: List[dict]) -> List[dict]:
    by_path = {(r["candidates"], r["clients"], r["path"]): r for r in rows}
    for r in rows:
        floor = by_path.get((r["candidates"], r["clients"], FLOOR))
        transport = by_path.get((r["candidates"], r["clients"], TRANSPORT))
        if r["path"] == GRPC and floor is not None:
            r["grpc_over_floor_p50"] = r["p50_ms"] / floor["p50_ms"]
            if transport is not None:
                r["bound_over_floor_p50"] = (floor["p50_ms"] + floor["check_p50_ms"]
                                             + transport["p50_ms"]) / floor["p50_ms"]
    return sorted(rows, key=lambda r: (r["candidates"], r["clients"], r["path"]))


_PER_REPEAT = ("p50_ms", "p99_ms", "requests_per_s", "grpc_over_floor_p50",
               "bound_over_floor_p50")


def median_rows(repeats: List[List[dict]]) -> List[dict]:
    """One row per (candidates, clients, path) over ``repeats`` (each a list of rows with
    ratios): the median of every figure, ``failed`` and ``calls`` summed, and the per-repeat
    values of ``_PER_REPEAT`` as ``<figure>_per_repeat``."""
    groups: Dict[tuple, List[dict]] = {}
    for rows in repeats:
        for r in rows:
            groups.setdefault((r["candidates"], r["clients"], r["path"]), []).append(r)
    out = []
    for (n, k, path), rs in groups.items():
        row = {"candidates": n, "clients": k, "path": path, "repeats": len(rs)}
        for key in rs[0]:
            if key in row:
                continue
            values = [r[key] for r in rs]
            row[key] = (int(sum(values)) if key in ("failed", "calls")
                        else float(np.median(values)))
            if key in _PER_REPEAT:
                row[f"{key}_per_repeat"] = [float(v) for v in values]
        out.append(row)
    return sorted(out, key=lambda r: (r["candidates"], r["clients"], r["path"]))


def _print(rows: List[dict]) -> None:
    print(f"{'candidates':>10} {'clients':>7}  {'path':<26} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'req/s':>8} {'failed':>6} {'x floor':>7} {'bound':>6}")
    for r in rows:
        ratio, bound = (f"{r[k]:.2f}" if k in r else ""
                        for k in ("grpc_over_floor_p50", "bound_over_floor_p50"))
        print(f"{r['candidates']:>10} {r['clients']:>7}  {r['path']:<26} {r['p50_ms']:>8.2f} "
              f"{r['p99_ms']:>8.2f} {r['requests_per_s']:>8.1f} {r['failed']:>6} {ratio:>7} "
              f"{bound:>6}")


def main(args: argparse.Namespace) -> int:
    from lt4rec.serving.rank_request import (  # deferred: gRPC, TensorFlow
        json_from_log_file, request_from_json)
    from lt4rec.serving.workers import tf_threads_per_worker  # deferred: gRPC, TensorFlow

    if args.repeats < 1:
        raise SystemExit(f"--repeats must be >= 1; received {args.repeats}")
    threads = tf_threads_per_worker(args.workers)

    tmp = tempfile.mkdtemp(prefix="lt4rec-bench-serve-")
    repeats = []
    try:
        setup = _prepare(tmp, args)
        requests = {n: request_from_json(json_from_log_file(setup["log_file"], n))
                    for n in args.candidates}
        serialized = {n: r.SerializeToString() for n, r in requests.items()}  # child processes
        for i in range(args.repeats):
            if args.repeats > 1:
                print(f"repeat {i + 1}/{args.repeats}", flush=True)
            repeats.append(_with_ratios(_floor_in_child(setup, serialized, args, threads)
                                        + _grpc_rows(setup, requests, args)
                                        + _transport_rows(requests, serialized, args)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = median_rows(repeats)
    if args.repeats > 1:
        print(f"median over {args.repeats} repeats (each: fresh floor process, server and "
              f"transport server)")
    _print(rows)
    path = write_result("serve", {"models": setup["note"], "requests_per_setting": args.requests,
                                  "workers": args.workers, "floor": _FLOOR_TEXT,
                                  "floor_intra_op_threads": threads,
                                  "transport": _TRANSPORT_TEXT,
                                  "repeats": args.repeats, "rows": rows,
                                  "per_repeat": repeats},
                        args.out_dir or DEFAULT_OUT_DIR)
    print(f"results: {path}")
    return 0
