"""Run in a fresh process (logical devices must be set before TF starts): one training step
on 2 mirrored CPU replicas must equal the same step on one device, on 64 rows and on 63 (an
uneven split)."""

import json
import sys

import lt4rec  # noqa: F401
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from lt4rec.models.config import TrainerConfig  # noqa: E402
from lt4rec.models.data import load_dataset  # noqa: E402

sys.path.insert(0, sys.argv[2])
from conftest import tiny_config  # noqa: E402
from step_check import one_masked_step  # noqa: E402

dataset = load_dataset(sys.argv[1], TrainerConfig())
config = tiny_config("sparse_weight", trainer={"learning_rate": 0.05})
strategies = (("single", tf.distribute.get_strategy()),
              ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])))
results = {name: one_masked_step(strategy, dataset, config) for name, strategy in strategies}
# 63 rows split 32 + 31 over the replicas: the step must still be the whole batch's.
results.update({f"{name}_63": one_masked_step(strategy, dataset, config, rows=63)
                for name, strategy in strategies})
print(json.dumps(results))
