"""MaskGen's and SparseTrainer's training as N worker processes on one host.

Under LocalDagRunner an executor runs once, in the pipeline's process. With the execution
property ``train_workers`` = N > 1 (``lt4rec pipeline run --train-workers N``) and no
``TF_CONFIG`` in the environment, ``run_training`` instead writes what the executor's training
function needs (its input and output artifacts, and the execution properties with
``trainer.distribution = "multi_worker"``) to a JSON ``WorkerSpec`` and starts N copies of
``python -m lt4rec.components.training_worker SPEC`` with ``models.multi_worker.launch`` (one
``TF_CONFIG`` each, on 127.0.0.1). Every worker runs that same function, so one training path
serves both ways. Worker 0 (the chief) writes the real outputs and the function's result (what
the executor records on its output artifact); the others write under
``<output>/_workers/worker-<i>/``, removed after success. ``trainer.batch_size`` stays the
global batch: N workers take the step one process takes on it.

Worker logs and the spec live in the execution's stateful working directory (TFX keeps it when
the execution fails and removes it after success) or, outside an orchestrator, a temporary
folder; a failed worker's error names its log.

With ``TF_CONFIG`` already set (a Kubeflow TFJob or Vertex AI pod is one worker of a cluster),
or with one worker, the function runs in-process, as before.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional

from absl import logging
from tfx.types import Artifact, artifact_utils

from lt4rec.models import multi_worker

TRAIN_WORKERS = "train_workers"
"""The execution property: how many worker processes train (1: in-process)."""
WORKER_MODULE = "lt4rec.components.training_worker"
SPEC_FILE = "spec.json"
RESULT_FILE = "result.json"

ArtifactDict = Dict[str, List[Artifact]]
TrainFn = Callable[[ArtifactDict, ArtifactDict, Dict[str, Any]], Dict[str, Any]]


def train_workers(exec_properties: Dict[str, Any]) -> int:
    """The ``train_workers`` execution property (1 when unset).

    Raises:
      ValueError: it is below 1.
    """
    value = exec_properties.get(TRAIN_WORKERS)
    n = 1 if value is None else int(value)
    if n < 1:
        raise ValueError(f"`train_workers` must be >= 1. Received: train_workers={n}")
    return n


def wants_launch(exec_properties: Dict[str, Any]) -> bool:
    """Whether the executor should start workers (N > 1 and not a worker of a cluster itself)."""
    return train_workers(exec_properties) > 1 and multi_worker.TF_CONFIG not in os.environ


def multi_worker_properties(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
    """``exec_properties`` whose ``config_json`` sets ``trainer.distribution = multi_worker``."""
    overrides = json.loads(exec_properties.get("config_json") or "{}")
    overrides.setdefault("trainer", {})["distribution"] = "multi_worker"
    return dict(exec_properties, config_json=json.dumps(overrides, sort_keys=True))


@dataclasses.dataclass
class WorkerSpec:
    """What one worker needs to run an executor's training function.

    Attributes:
      train_fn: the function as ``module:name``.
      input_dict, output_dict, exec_properties: the executor's arguments.
      result_path: where the chief writes the function's result (JSON).
    """
    train_fn: str
    input_dict: ArtifactDict
    output_dict: ArtifactDict
    exec_properties: Dict[str, Any]
    result_path: str

    def write(self, path: str) -> str:
        """Writes the spec as JSON to ``path``; returns ``path``."""
        record = {"train_fn": self.train_fn, "exec_properties": self.exec_properties,
                  "result_path": self.result_path}
        for key in ("input_dict", "output_dict"):
            record[key] = json.loads(artifact_utils.jsonify_artifact_dict(getattr(self, key)))
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=2)
        return path

    @classmethod
    def read(cls, path: str) -> "WorkerSpec":
        """The spec written to ``path`` by ``write``."""
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
        for key in ("input_dict", "output_dict"):
            record[key] = artifact_utils.parse_artifact_dict(json.dumps(record[key]))
        return cls(**record)

    def function(self) -> TrainFn:
        """The training function ``train_fn`` names.

        Raises:
          ValueError: ``train_fn`` is not ``module:name`` of a function.
        """
        module, _, name = self.train_fn.partition(":")
        fn = getattr(importlib.import_module(module), name, None) if name else None
        if not callable(fn):
            raise ValueError(f"`train_fn` must name a function as module:name. "
                             f"Received: train_fn={self.train_fn!r}")
        return fn


def working_dir(context) -> Optional[str]:
    """The execution's stateful working directory (kept by TFX when it fails), or None."""
    return getattr(context, "stateful_working_dir", None) if context else None


def run_training(train_fn: TrainFn, input_dict: ArtifactDict, output_dict: ArtifactDict,
                 exec_properties: Dict[str, Any],
                 work_root: Optional[str] = None) -> Dict[str, Any]:
    """``train_fn(input_dict, output_dict, exec_properties)``, in-process or on N workers.

    Args:
      train_fn: a module-level function returning a JSON-able result.
      work_root: where the spec and worker logs go (``workers/`` under it); None: a temporary
        folder, removed after success.

    Returns:
      The function's result (the chief's, with workers).

    Raises:
      RuntimeError: a worker failed (the others are stopped; its log is named).
    """
    if not wants_launch(exec_properties):
        return train_fn(input_dict, output_dict, exec_properties)
    work = (os.path.join(work_root, "workers") if work_root
            else tempfile.mkdtemp(prefix="lt4rec-workers-"))
    result = _launch(WorkerSpec(f"{train_fn.__module__}:{train_fn.__name__}", input_dict,
                                output_dict, multi_worker_properties(exec_properties),
                                os.path.join(work, RESULT_FILE)),
                     train_workers(exec_properties), work)
    for artifacts in output_dict.values():
        for artifact in artifacts:
            shutil.rmtree(os.path.join(artifact.uri, multi_worker.WORKERS_DIR),
                          ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return result


def _launch(spec: WorkerSpec, n: int, work: str) -> Dict[str, Any]:
    """Runs ``spec`` on ``n`` workers with logs in ``work``; returns the chief's result."""
    os.makedirs(work, exist_ok=True)
    if os.path.exists(spec.result_path):  # a failed earlier attempt's
        os.remove(spec.result_path)
    argv = [sys.executable, "-m", WORKER_MODULE, spec.write(os.path.join(work, SPEC_FILE))]
    logging.info("training %s with %d workers on 127.0.0.1; logs: %s/worker-<i>.log",
                 spec.train_fn, n, work)
    multi_worker.launch(lambda _i: argv, n, log_dir=work)
    with open(spec.result_path, encoding="utf-8") as fh:
        return json.load(fh)
