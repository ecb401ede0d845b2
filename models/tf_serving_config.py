"""Files that real TF Serving (``tensorflow_model_server``) needs for the pCTR/pCVR models.

* ``models.config``: a ``ModelServerConfig`` (``--model_config_file``) serving ``pctr`` and
  ``pcvr`` from ``<base_path>/<name>/<version>/``, newest version only, re-read every
  ``--model_config_file_poll_wait_seconds``;
* ``batching_parameters.txt``: server-side batching (``--enable_batching
  --batching_parameters_file``), which merges concurrent requests of one model into one
  TensorFlow call: ranking requests are already batches of candidates, so the batcher only
  groups concurrent ranking requests, up to ``max_batch_size`` examples, waiting at most
  ``batch_timeout_micros`` for company.

``export_models`` writes both beside every export (base path ``/models``, the TF Serving
image's convention, used by ``serving/k8s/``); DualPusher writes them at the serving root with
the root's absolute path, so ``tensorflow_model_server --model_config_file=<root>/models.config``
serves what was pushed. Warm-up records live inside each version (``models/warmup.py``).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, Sequence

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

MODELS_CONFIG_FILE = "models.config"
BATCHING_FILE = "batching_parameters.txt"
CONTAINER_BASE_PATH = "/models"


@dataclasses.dataclass(frozen=True)
class BatchingParameters:
    """TF Serving's ``BatchingParameters`` (session_bundle_config.proto), the fields we set.

    Attributes:
      max_batch_size: most examples in one merged call (a 500-candidate request is 500).
      batch_timeout_micros: longest a request waits for others to batch with.
      max_enqueued_batches: queue bound; beyond it requests fail fast (UNAVAILABLE).
      num_batch_threads: batches run in parallel (about the cores, or 1-2 per GPU).
    """
    max_batch_size: int = 4096
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 64
    num_batch_threads: int = 8

    def to_text(self) -> str:
        """The text-format file ``--batching_parameters_file`` reads."""
        return "".join(f"{f.name} {{ value: {getattr(self, f.name)} }}\n"
                       for f in dataclasses.fields(self))


def models_config(base_path: str, names: Sequence[str]) -> model_server_config_pb2.ModelServerConfig:
    """A ModelServerConfig serving each of ``names`` from ``base_path/<name>``, latest version."""
    config = model_server_config_pb2.ModelServerConfig()
    for name in names:
        model = config.model_config_list.config.add(
            name=name, base_path=os.path.join(base_path, name), model_platform="tensorflow")
        model.model_version_policy.latest.num_versions = 1
    return config


def write_tf_serving_files(out_dir: str, base_path: str, names: Sequence[str],
                           batching: BatchingParameters = BatchingParameters()) -> Dict[str, str]:
    """Writes ``models.config`` and ``batching_parameters.txt`` into ``out_dir``.

    Returns:
      {"models_config": path, "batching_parameters": path}.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {"models_config": os.path.join(out_dir, MODELS_CONFIG_FILE),
             "batching_parameters": os.path.join(out_dir, BATCHING_FILE)}
    with open(paths["models_config"], "w", encoding="utf-8") as fh:
        fh.write(text_format.MessageToString(models_config(base_path, names)))
    with open(paths["batching_parameters"], "w", encoding="utf-8") as fh:
        fh.write(batching.to_text())
    return paths
