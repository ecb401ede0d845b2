"""``lt4rec train --workers N``: the same training as N worker processes on 127.0.0.1.

Each worker runs ``lt4rec train`` with the same data, variant, seed and config plus
``trainer.distribution = "multi_worker"``, and its own ``TF_CONFIG``
(``models.multi_worker.launch``). Worker 0 writes OUT as a one-process run would; the others
write their copies under OUT/_workers/worker-<i>/ (removed after success); every worker's log
is OUT/_workers/worker-<i>.log. ``trainer.batch_size`` is the global batch: N workers take the
step one process takes on it, each computing 1/N of its rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import List

from lt4rec.models import multi_worker

WORKERS_DIR = multi_worker.WORKERS_DIR


def wants_launch(args: argparse.Namespace) -> bool:
    """Whether this process should start workers (``--workers > 1`` and not one itself)."""
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1. Received: {args.workers}")
    return args.workers > 1 and multi_worker.TF_CONFIG not in os.environ


def _worker_config(args: argparse.Namespace, path: str) -> str:
    """Writes the run's config overrides with ``trainer.distribution = multi_worker``."""
    overrides = {}
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            overrides = json.load(fh)
    overrides.setdefault("trainer", {})["distribution"] = "multi_worker"
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(overrides, fh, indent=2)
    return path


def worker_argv(args: argparse.Namespace, config_path: str) -> List[str]:
    """The command line every worker runs (the same for all; TF_CONFIG tells them apart)."""
    return [sys.executable, "-m", "lt4rec.cli", "train", "--data", args.data,
            "--variant", args.variant, "--out", args.out, "--config", config_path,
            "--seed", str(args.seed), "--max-reject-fraction", str(args.max_reject_fraction),
            "--workers", str(args.workers)]


def launch_workers(args: argparse.Namespace) -> None:
    """Runs ``args.workers`` workers to completion.

    Raises:
      RuntimeError: a worker failed (the others are stopped; its log is named).
    """
    work = os.path.join(args.out, WORKERS_DIR)
    os.makedirs(work, exist_ok=True)
    argv = worker_argv(args, _worker_config(args, os.path.join(work, "config.json")))
    print(f"training with {args.workers} workers on 127.0.0.1; logs: {work}/worker-<i>.log",
          file=sys.stderr, flush=True)
    multi_worker.launch(lambda _i: argv, args.workers, log_dir=work)
    for i in range(1, args.workers):
        shutil.rmtree(os.path.join(work, f"worker-{i}"), ignore_errors=True)
