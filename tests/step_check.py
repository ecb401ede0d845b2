"""One masked training step under a tf.distribute strategy, for the fresh-process checks
(``distributed_step_check.py``, ``multi_worker_step_check.py``). Runs no TensorFlow op at
import: those scripts configure devices or the collective runtime first."""

import numpy as np
import tensorflow as tf

from lt4rec.models.ranker import build_model
from lt4rec.models.tasks import CTR
from lt4rec.models.training import Trainer


def one_masked_step(strategy, dataset, config, rows: int = 64) -> dict:
    """One CTR step on the first ``rows`` training rows with a random mask on the first sNET
    layer. Returns {"replicas", "loss", "delta" (kernel change), "masked_moved"}."""
    idx = tf.constant(np.arange(rows, dtype=np.int32))
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
