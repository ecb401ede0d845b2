"""Run as one worker of a cluster (TF_CONFIG set by models.multi_worker.launch): one training
step under MultiWorkerMirroredStrategy on a 64-row global batch; worker 0 also takes the same
step on one device (no strategy) from the same initial weights. Writes OUT/worker-<i>.json.

  python multi_worker_step_check.py DATA_DIR TESTS_DIR OUT_DIR
"""

import json
import os
import sys

import lt4rec  # noqa: F401
import tensorflow as tf

# The collective runtime must be configured before TensorFlow runs anything.
strategy = tf.distribute.MultiWorkerMirroredStrategy()

from lt4rec.models import multi_worker  # noqa: E402
from lt4rec.models.config import TrainerConfig  # noqa: E402
from lt4rec.models.data import load_dataset  # noqa: E402

sys.path.insert(0, sys.argv[2])
from conftest import tiny_config  # noqa: E402
from step_check import one_masked_step  # noqa: E402

dataset = load_dataset(sys.argv[1], TrainerConfig())
config = tiny_config("sparse_weight", trainer={"learning_rate": 0.05})
results = {"multi_worker": one_masked_step(strategy, dataset, config)}
if multi_worker.is_chief():
    results["single"] = one_masked_step(tf.distribute.get_strategy(), dataset, config)
with open(os.path.join(sys.argv[3], f"worker-{multi_worker.task_index()}.json"), "w") as fh:
    json.dump(results, fh)
