"""Rank the candidates of a JSON request with a ranking server and print the ranked list.

  lt4rec rank --target HOST:PORT --request FILE.json [--json] [--wait SECONDS]

FILE.json: {"context": {user and context columns}, "candidates": [{"id": ..., "features":
{item columns}}, ...]} with the traffic-log contract's column names (schemas/); see
serving/examples/rank_request.json. Prints rank, id, pCTR, pCVR and rankscore per candidate,
highest rankscore first, and the model versions that scored them. A request the server refuses
prints its status code and message (exit 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True, metavar="HOST:PORT",
                        help="the ranking server (lt4rec serve)")
    parser.add_argument("--request", required=True, metavar="FILE.json",
                        help="the rank request as JSON")
    parser.add_argument("--json", action="store_true", help="print the response as JSON")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="deadline of the call, seconds (default 30)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="retry while the server is not up yet (UNAVAILABLE), up to this "
                             "long (default 0: no retry)")


def _load(path: str):
    from lt4rec.serving.rank_request import request_from_json

    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    try:
        return request_from_json(obj)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def rank(target: str, request, timeout_s: float, wait_s: float = 0.0):
    """One Rank call; retries UNAVAILABLE for up to ``wait_s`` seconds."""
    import grpc
    from lt4rec.serving.protos import rank_pb2_grpc

    deadline = time.monotonic() + wait_s
    with grpc.insecure_channel(target) as channel:
        stub = rank_pb2_grpc.RankingServiceStub(channel)
        while True:
            try:
                return stub.Rank(request, timeout=timeout_s)
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)


def format_table(response) -> str:
    """The ranked list as an aligned text table."""
    lines = [f"pctr v{response.pctr_version}, pcvr v{response.pcvr_version}; rankscore = "
             f"pCTR^{response.a:g} * pCVR^{response.b:g} * video_length^{response.c:g}",
             f"{'rank':>4}  {'id':<14} {'pCTR':>8} {'pCVR':>8} {'rankscore':>12}"]
    ranked = zip(response.ids, response.pctr, response.pcvr, response.rankscore)
    for r, (cid, pctr, pcvr, score) in enumerate(ranked, 1):
        lines.append(f"{r:>4}  {cid:<14} {pctr:>8.4f} {pcvr:>8.4f} {score:>12.5g}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    import grpc
    from lt4rec.serving.rank_request import response_to_json

    request = _load(args.request)
    try:
        response = rank(args.target, request, args.timeout, args.wait)
    except grpc.RpcError as err:
        print(f"lt4rec rank: {err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    print(json.dumps(response_to_json(response), indent=2) if args.json
          else format_table(response))
    return 0
