"""One training worker of a component: ``python -m lt4rec.components.training_worker SPEC``.

Started N times by ``components.multi_worker_run.run_training`` with a ``TF_CONFIG`` each; runs
the executor's training function named in the ``WorkerSpec`` (the function the executor runs
in-process with one worker). The chief writes the function's result to the spec's
``result_path``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

from absl import logging

from lt4rec.components.artifacts import Masks  # noqa: F401 (parses Masks artifacts by type)
from lt4rec.components.multi_worker_run import WorkerSpec
from lt4rec.models import multi_worker


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the spec's training function; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m lt4rec.components.training_worker SPEC.json", file=sys.stderr)
        return 2
    logging.use_absl_handler()  # time-stamped lines
    logging.set_verbosity(logging.INFO)  # the worker's log file is where progress goes
    spec = WorkerSpec.read(argv[0])
    result = spec.function()(spec.input_dict, spec.output_dict, spec.exec_properties)
    if multi_worker.is_chief():
        partial = spec.result_path + ".partial"
        with open(partial, "w", encoding="utf-8") as fh:
            json.dump(result, fh, default=float)
        os.replace(partial, spec.result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
