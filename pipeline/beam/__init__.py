"""Beam runner configurations: ``--beam-config FILE`` of ``lt4rec pipeline run|compile``.

A file is JSON ``{"description": "...", "beam_pipeline_args": ["--runner=...", ...]}``; the
ones beside this module are templates for Dataflow, Flink, Spark and this machine.
"""

import json
import os
from typing import List

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
