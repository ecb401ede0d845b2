"""Beam runner configurations: ``--beam-config FILE`` of ``lt4rec pipeline run|compile``.

A file is JSON ``{"description": "...", "beam_pipeline_args": ["--runner=...", ...]}``; the
ones beside this module are templates for Dataflow, Flink, Spark, the portable runner
(``portable``: a job service + worker pool, see ``service.py``) and this machine.
"""

import json
import os
from typing import List, Optional

CONFIG_DIR = os.path.dirname(os.path.abspath(__file__))


def load_beam_args(path: str) -> List[str]:
    """The ``beam_pipeline_args`` of a Beam config file, or of a template named by its stem.

    Raises:
      FileNotFoundError: neither a file nor a template of that name exists.
      ValueError: the file is not JSON of that shape (the problem is named).
    """
    if not os.path.exists(path):
        template = os.path.join(CONFIG_DIR, f"{path}.json")
        if not os.path.exists(template):
            names = sorted(f[:-5] for f in os.listdir(CONFIG_DIR) if f.endswith(".json"))
            raise FileNotFoundError(f"Beam config {path!r}: no such file, and no template of "
                                    f"that name (templates: {names})")
        path = template
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise ValueError(f"Beam config {path}: not valid JSON ({err})") from None
    args = data.get("beam_pipeline_args") if isinstance(data, dict) else None
    if not isinstance(args, list) or not all(isinstance(a, str) and a.startswith("--")
                                             for a in args):
        raise ValueError(f"Beam config {path}: `beam_pipeline_args` must be a list of "
                         f"'--flag=value' strings. Received: {args!r}")
    return args


def with_endpoints(args: List[str], job_endpoint: Optional[str] = None,
                   worker_pool: Optional[str] = None) -> List[str]:
    """``args`` with the portable runner's job endpoint and/or worker pool address replaced.

    Args:
      args: Beam pipeline arguments (e.g. of the ``portable`` template).
      job_endpoint: ``HOST:PORT`` of a Beam job service (Flink/Spark job server or
        ``lt4rec beam up``'s); sets ``--job_endpoint``.
      worker_pool: ``HOST:PORT`` of an external SDK worker pool; sets
        ``--environment_type=EXTERNAL --environment_config=HOST:PORT``.

    Raises:
      ValueError: an address is not ``HOST:PORT``.
    """
    replace = {}
    for flag, option, value in (("job_endpoint", "--job-endpoint", job_endpoint),
                                ("environment_config", "--worker-pool", worker_pool)):
        if value is None:
            continue
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{option} must be HOST:PORT. Received: {value!r}")
        replace[flag] = value
    if worker_pool is not None:
        replace["environment_type"] = "EXTERNAL"
    kept = [a for a in args if a[2:].split("=", 1)[0] not in replace]
    return kept + [f"--{flag}={value}" for flag, value in replace.items()]
