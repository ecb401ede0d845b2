"""tf.distribute strategies for training, chosen by ``TrainerConfig.distribution``.

Every model weight and optimizer slot is created under the strategy's scope; each training
step splits its batch indices across the replicas (``Trainer``), runs the masked forward and
backward pass per replica, and the optimizer sums the replicas' gradients (each replica's loss,
a mean over its rows, is weighted by its share of the batch's rows, so the step equals one on
the whole batch, also when the batch does not split evenly).
"""

import tensorflow as tf

from lt4rec.models.config import TrainerConfig

_MULTI_WORKER = []  # the process's MultiWorkerMirroredStrategy, once created


def multi_worker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """This process's MultiWorkerMirroredStrategy (cluster from ``TF_CONFIG``), made once.

    TensorFlow configures the collective ops of a worker only before its runtime starts, so
    the strategy must exist before any op runs (reading data, seeding); callers create it
    first (``make_strategy`` at the top of an entry point) and later calls return the same.
    """
    if not _MULTI_WORKER:
        _MULTI_WORKER.append(tf.distribute.MultiWorkerMirroredStrategy())
    return _MULTI_WORKER[0]


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
        return multi_worker_strategy()
    if not config.tpu_address:
        raise ValueError("distribution 'tpu' needs trainer.tpu_address (e.g. 'local' on a TPU "
                         "VM, or grpc://HOST:8470)")
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=config.tpu_address)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
