"""tf.distribute strategies for training, chosen by ``TrainerConfig.distribution``.

Every model weight and optimizer slot is created under the strategy's scope; each training
step splits its batch indices across the replicas (``Trainer``), runs the masked forward and
backward pass per replica, and the optimizer sums the replicas' gradients (each replica's loss
is divided by the number of replicas, so the step equals one on the whole batch).
"""

import tensorflow as tf

from lt4rec.models.config import TrainerConfig


def make_strategy(config: TrainerConfig) -> tf.distribute.Strategy:
    """The strategy of ``config.distribution``.

    Raises:
      ValueError: ``tpu`` without ``tpu_address`` (use "local" for a TPU VM).
    """
    name = config.distribution
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if not config.tpu_address:
        raise ValueError("distribution 'tpu' needs trainer.tpu_address (e.g. 'local' on a TPU "
                         "VM, or grpc://HOST:8470)")
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=config.tpu_address)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
