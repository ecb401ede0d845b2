"""Run as one worker of a cluster (TF_CONFIG set by models.multi_worker.launch): one training
step under MultiWorkerMirroredStrategy on a 64-row global batch; worker 0 also takes the same
step on one device (no strategy) from the same initial weights. Writes OUT/worker-<i>.json.

  python multi_worker_step_check.py DATA_DIR TESTS_DIR OUT_DIR
"""

import json
import os
import sys

import lt4rec  # noqa: F401
import numpy as np
import tensorflow as tf

# The collective runtime must be configured before TensorFlow runs anything.
strategy = tf.distribute.MultiWorkerMirroredStrategy()

from lt4rec.models import multi_worker  # noqa: E402
from lt4rec.models.config import TrainerConfig  # noqa: E402
from lt4rec.models.data import load_dataset  # noqa: E402
from lt4rec.models.ranker import build_model  # noqa: E402
from lt4rec.models.tasks import CTR  # noqa: E402
from lt4rec.models.training import Trainer  # noqa: E402

sys.path.insert(0, sys.argv[2])
from conftest import tiny_config  # noqa: E402

dataset = load_dataset(sys.argv[1], TrainerConfig())
config = tiny_config("sparse_weight", trainer={"learning_rate": 0.05})
idx = tf.constant(np.arange(64, dtype=np.int32))


def one_step(strategy):
    tf.keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build_model(config, dataset.train.features)
        layer = model.masked_layers[0]
        mask = (np.random.default_rng(0).random(layer.kernel.shape) > 0.5).astype(np.float32)
        layer.set_task_mask(CTR, mask)
        before = layer.kernel.numpy().copy()
        loss = float(Trainer(model, config, dataset.train).step_fn(CTR)(idx))
        after = layer.kernel.numpy()
    return {"replicas": strategy.num_replicas_in_sync, "loss": loss,
            "delta": (after - before).tolist(),
            "masked_moved": bool(np.any(after[mask == 0] != before[mask == 0]))}


results = {"multi_worker": one_step(strategy)}
if multi_worker.is_chief():
    results["single"] = one_step(tf.distribute.get_strategy())
with open(os.path.join(sys.argv[3], f"worker-{multi_worker.task_index()}.json"), "w") as fh:
    json.dump(results, fh)
