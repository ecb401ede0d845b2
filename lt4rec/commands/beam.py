"""Start, stop and check a local Beam job service + worker pool (the portable runner's path).

  lt4rec beam up --state-dir DIR [--job-port P] [--worker-port Q]
      Starts Beam's Python job service on 127.0.0.1:P (8099) and an external SDK worker pool on
      127.0.0.1:Q (50000) as background processes; their PIDs, ports and logs go to DIR.
      Then `lt4rec pipeline run --beam-config portable` submits every Beam stage through them,
      the same way a Flink or Spark job server receives it (0 picks free ports: pass the
      printed --job-endpoint / --worker-pool to `pipeline run`).
  lt4rec beam status --state-dir DIR    whether the two recorded processes still run (exit 0
                                        when both do, 3 otherwise)
  lt4rec beam down --state-dir DIR      stops exactly those processes (SIGTERM, then SIGKILL)
"""

import argparse
import sys

from lt4rec.pipeline.beam import service


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--state-dir", required=True,
                        help="folder of the servers' PIDs, ports, logs and staged artifacts")
    parser.add_argument("--job-port", type=int, default=None,
                        help="job service port (8099, the portable template's; 0 = free port)")
    parser.add_argument("--worker-port", type=int, default=None,
                        help="worker pool port (50000, the portable template's; 0 = free port)")


def main(args: argparse.Namespace) -> int:
    if args.action == "up":
        try:
            state = service.start(
                args.state_dir,
                service.DEFAULT_JOB_PORT if args.job_port is None else args.job_port,
                service.DEFAULT_WORKER_PORT if args.worker_port is None else args.worker_port)
        except (RuntimeError, TimeoutError) as err:
            print(f"lt4rec beam up: error: {err}", file=sys.stderr)
            return 1
        print(f"job service pid {state.job_service.pid} on {state.job_service.address}; "
              f"worker pool pid {state.worker_pool.pid} on {state.worker_pool.address}")
        print(f"run with: lt4rec pipeline run ... --beam-config portable --job-endpoint "
              f"{state.job_service.address} --worker-pool {state.worker_pool.address}")
        return 0
    if args.action == "down":
        stopped = service.stop(args.state_dir)
        print("stopped" if stopped else f"nothing recorded in {args.state_dir}")
        return 0
    alive = service.status(args.state_dir)
    state = service.read_state(args.state_dir)
    for name, running in alive.items():
        where = getattr(state, name).address if state else "-"
        print(f"{name:<12} {'running' if running else 'not running':<12} {where}")
    return 0 if all(alive.values()) else 3
