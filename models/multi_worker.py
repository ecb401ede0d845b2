"""Multi-worker training on one host: N processes, one ``TF_CONFIG`` each, on 127.0.0.1.

``tf.distribute.MultiWorkerMirroredStrategy`` (``trainer.distribution = "multi_worker"``)
reads the cluster from the ``TF_CONFIG`` environment variable of each worker process::

    {"cluster": {"worker": ["host0:port", "host1:port", ...]},
     "task": {"type": "worker", "index": i}}

Every worker runs the *same* program with the same seed, so all draw the same batch plan;
``models.training.Trainer`` gives replica r rows r, r + N, ... of each global batch and the
strategy all-reduces the gradients, so N workers take exactly the step one worker takes on
the whole batch. Worker 0 is the chief: it writes the outputs; the others must write theirs
(SavedModels are written by every worker, as the strategy requires) somewhere else
(``task_output_dir``).

On a cluster the same variable is set per pod by Kubeflow's Training Operator (``TFJob``,
see pipeline/k8s/tfjob.yaml) or by Vertex AI custom jobs (``CLUSTER_SPEC``, which TF reads
the same way); ``launch`` is the stand-in for that on one machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from typing import Callable, Dict, List, Optional, Sequence

TF_CONFIG = "TF_CONFIG"
HOST = "127.0.0.1"
WORKERS_DIR = "_workers"
"""Where workers other than the chief write their copies, under the run's output folder."""


def tf_config(addresses: Sequence[str], index: int) -> Dict:
    """The ``TF_CONFIG`` of worker ``index`` of a cluster of ``addresses`` (``host:port``)."""
    if not 0 <= index < len(addresses):
        raise ValueError(f"worker index must be in [0, {len(addresses)}). Received: {index}")
    return {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}}


def task_index() -> int:
    """This process's worker index from ``TF_CONFIG`` (0 when it is not set: one worker)."""
    raw = os.environ.get(TF_CONFIG)
    if not raw:
        return 0
    task = json.loads(raw).get("task", {})
    return int(task.get("index", 0)) if task.get("type", "worker") in ("worker", "chief") else 0


def is_chief() -> bool:
    """Whether this process writes the run's outputs (worker 0, or no cluster at all)."""
    raw = os.environ.get(TF_CONFIG)
    if raw and json.loads(raw).get("task", {}).get("type") == "chief":
        return True
    return task_index() == 0


def task_output_dir(out_dir: str) -> str:
    """``out_dir`` on the chief; ``out_dir/_workers/worker-<i>`` on worker i > 0."""
    if is_chief():
        return out_dir
    return os.path.join(out_dir, WORKERS_DIR, f"worker-{task_index()}")


def free_ports(n: int) -> List[int]:
    """``n`` distinct TCP ports on 127.0.0.1 that nothing listens on right now."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def launch(argv_of: Callable[[int], List[str]], n_workers: int, log_dir: Optional[str] = None,
           timeout_s: Optional[float] = None, env: Optional[Dict[str, str]] = None) -> List[int]:
    """Runs ``argv_of(i)`` for i in 0..n-1 as worker processes of one cluster on 127.0.0.1.

    Each process gets ``TF_CONFIG`` for its index (plus ``env``); if one fails, the others are
    stopped (a collective would wait for it forever).

    Args:
      argv_of: the command line of worker i.
      n_workers: how many workers (>= 1).
      log_dir: where worker i's stdout+stderr go (``worker-<i>.log``); None = inherit.
      timeout_s: stop every worker after this long (None: no limit).

    Returns:
      The exit codes, worker 0 first (all 0 on success).

    Raises:
      RuntimeError: a worker failed (its index, exit code and log are named).
    """
    if n_workers < 1:
        raise ValueError(f"n_workers must be >= 1. Received: {n_workers}")
    addresses = [f"{HOST}:{p}" for p in free_ports(n_workers)]
    procs, logs = [], []
    for i in range(n_workers):
        worker_env = dict(os.environ, **(env or {}),
                          **{TF_CONFIG: json.dumps(tf_config(addresses, i))})
        log = os.path.join(log_dir, f"worker-{i}.log") if log_dir else None
        out = open(log, "wb") if log else None  # noqa: SIM115 (closed below)
        logs.append((log, out))
        procs.append(subprocess.Popen(argv_of(i), env=worker_env, stdout=out,
                                      stderr=subprocess.STDOUT if out else None))
    try:
        return _wait_all(procs, logs, timeout_s)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for _, out in logs:
            if out:
                out.close()


def _wait_all(procs, logs, timeout_s) -> List[int]:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while any(p.poll() is None for p in procs):
        for i, proc in enumerate(procs):
            if proc.poll() not in (None, 0):
                raise RuntimeError(f"worker {i} exited with code {proc.returncode}"
                                   + (f"; see {logs[i][0]}" if logs[i][0] else ""))
        if deadline is not None and time.monotonic() > deadline:
            raise RuntimeError(f"workers still running after {timeout_s:.0f} s; stopped")
        time.sleep(0.2)
    codes = [p.returncode for p in procs]
    failed = [i for i, c in enumerate(codes) if c]
    if failed:
        i = failed[0]
        raise RuntimeError(f"worker {i} exited with code {codes[i]}"
                           + (f"; see {logs[i][0]}" if logs[i][0] else ""))
    return codes
