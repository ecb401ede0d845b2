"""Run in a fresh process (logical devices must be set before TF starts): one training step
on 2 mirrored CPU replicas must equal the same step on one device."""

import json
import sys

import lt4rec  # noqa: F401
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

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
results = {}
for name, strategy in (("single", tf.distribute.get_strategy()),
                       ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
    tf.keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build_model(config, dataset.train.features)
        layer = model.masked_layers[0]
        mask = (np.random.default_rng(0).random(layer.kernel.shape) > 0.5).astype(np.float32)
        layer.set_task_mask(CTR, mask)
        before = layer.kernel.numpy().copy()
        trainer = Trainer(model, config, dataset.train)
        loss = float(trainer.step_fn(CTR)(idx))
        after = layer.kernel.numpy()
    results[name] = {"replicas": strategy.num_replicas_in_sync, "loss": loss,
                     "delta": (after - before).tolist(),
                     "masked_moved": bool(np.any(after[mask == 0] != before[mask == 0]))}
print(json.dumps(results))
