"""Rank the candidates of a JSON request with a ranking server and print the ranked list.

  lt4rec rank --target HOST:PORT --request FILE.json [--json] [--wait SECONDS]
              [--ssl-ca CA.pem [--ssl-cert CLIENT.pem --ssl-key CLIENT.key]]

FILE.json: {"context": {user and context columns}, "candidates": [{"id": ..., "features":
{item columns}}, ...]} with the traffic-log contract's column names (schemas/); see
serving/examples/rank_request.json. Prints rank, id, pCTR, pCVR and rankscore per candidate,
highest rankscore first, and the model versions that scored them. A request the server refuses
prints its status code and message (exit 1). With --ssl-ca the call uses TLS (the server runs
with --ssl-config-file); --ssl-cert/--ssl-key add a client certificate for mutual TLS.
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
    tls = parser.add_argument_group("TLS")
    tls.add_argument("--ssl-ca", metavar="PEM",
                     help="CA that signed the server's certificate: call over TLS")
    tls.add_argument("--ssl-cert", metavar="PEM", help="client certificate (mutual TLS)")
    tls.add_argument("--ssl-key", metavar="PEM", help="client private key (mutual TLS)")
    tls.add_argument("--ssl-server-name", metavar="NAME",
                     help="name to check the server's certificate against, when the target "
                          "address is not that name (e.g. an IP address)")


def _load(path: str):
    from lt4rec.serving.rank_request import request_from_json  # deferred: TensorFlow, gRPC

    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    try:
        return request_from_json(obj)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def rank(target: str, request, timeout_s: float, wait_s: float = 0.0, tls=None):
    """One Rank call (over TLS with a ``tls.ClientTLS``); retries UNAVAILABLE for up to
    ``wait_s`` seconds."""
    import grpc
    from lt4rec.serving.protos import rank_pb2_grpc  # deferred: TensorFlow, gRPC
    from lt4rec.serving.tls import channel as open_channel  # deferred: gRPC

    deadline = time.monotonic() + wait_s
    with open_channel(target, tls) as channel:
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
    from lt4rec.serving.rank_request import response_to_json  # deferred: TensorFlow, gRPC
    from lt4rec.serving.tls import client_tls_from  # deferred: gRPC

    request = _load(args.request)
    tls = client_tls_from(args.ssl_ca, args.ssl_cert, args.ssl_key, args.ssl_server_name)
    try:
        response = rank(args.target, request, args.timeout, args.wait, tls)
    except grpc.RpcError as err:
        print(f"lt4rec rank: {err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    print(json.dumps(response_to_json(response), indent=2) if args.json
          else format_table(response))
    return 0
