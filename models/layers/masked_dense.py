"""Dense layers holding one binary mask per task over shared weights (sparse sharing).

tfmot's pruning wrapper keeps one mask per weight and writes it into the weight, so it cannot
hold two tasks' masks on one kernel. ``MaskedDense`` keeps the kernel dense and shared and the
masks beside it, non-trainable, one per task, applied in the forward pass only:

    weight masks:  y = act(x @ (W * M_t) + b)        M_t: [in, units] in {0, 1}
    neuron masks:  y = act(x @ W + b) * m_t          m_t: [units] in {0, 1}

Because the mask multiplies W inside the graph, d loss_t / d W is zero wherever M_t is zero: a
masked weight gets no gradient from its task. (Optimizer state is the trainer's business; see
``models/training.py``.) With ``mask_type=None`` the layer is a plain Dense layer.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf
from tensorflow_model_optimization.python.core.sparsity.keras import prunable_layer

MASK_TYPES = (None, "weight", "neuron")


class MaskedDense(tf.keras.layers.Layer, prunable_layer.PrunableLayer):
    """Dense layer with per-task binary masks over its kernel or its output units.

    Args:
      units: output size.
      num_tasks: number of masks held (T).
      mask_type: ``"weight"`` (a mask per kernel entry), ``"neuron"`` (a mask per output unit)
        or None (no mask: a plain Dense layer).
      activation: Keras activation name or callable.

    Call args:
      inputs: [B, in] float32.
      task: int in [0, T), whose mask to apply (ignored when ``mask_type`` is None).
    Returns:
      [B, units] float32.

    Example:
      >>> layer = MaskedDense(64, num_tasks=2, mask_type="weight", activation="relu")
      >>> y_ctr, y_cvr = layer(x, task=0), layer(x, task=1)
    """

    def __init__(self, units: int, num_tasks: int = 2, mask_type: Optional[str] = "weight",
                 activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if units < 1:
            raise ValueError(f"`units` must be >= 1. Received: units={units}")
        if num_tasks < 1:
            raise ValueError(f"`num_tasks` must be >= 1. Received: num_tasks={num_tasks}")
        if mask_type not in MASK_TYPES:
            raise ValueError(f"`mask_type` must be one of {MASK_TYPES}. Received: "
                             f"mask_type={mask_type!r}")
        self.units = units
        self.num_tasks = num_tasks
        self.mask_type = mask_type
        self.activation = tf.keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(fan_in, self.units),
                                      initializer=self.kernel_initializer, trainable=True)
        self.bias = (self.add_weight(name="bias", shape=(self.units,), initializer="zeros",
                                     trainable=True) if self.use_bias else None)
        self.masks = None
        if self.mask_type is not None:
            shape = ((self.num_tasks, fan_in, self.units) if self.mask_type == "weight"
                     else (self.num_tasks, self.units))
            self.masks = self.add_weight(name="masks", shape=shape, initializer="ones",
                                         trainable=False)
        super().build(input_shape)

    def call(self, inputs: tf.Tensor, task: int = 0) -> tf.Tensor:
        if self.mask_type is not None and not 0 <= task < self.num_tasks:
            raise ValueError(f"`task` must be in [0, {self.num_tasks}). Received: task={task}")
        kernel = self.kernel
        if self.mask_type == "weight":
            kernel = kernel * self.masks[task]
        out = tf.matmul(inputs, kernel)
        if self.bias is not None:
            out = out + self.bias
        out = self.activation(out)
        if self.mask_type == "neuron":
            out = out * self.masks[task]
        return out

    # tfmot's PrunableLayer interface: the kernel is what magnitude pruning ranks.
    def get_prunable_weights(self):
        return [self.kernel]

    def task_mask(self, task: int) -> np.ndarray:
        """Task's mask as a NumPy array ([in, units] or [units]); all ones when unmasked."""
        if self.masks is None:
            return np.ones(self.kernel.shape if self.mask_type != "neuron" else (self.units,),
                           np.float32)
        return self.masks[task].numpy()

    def set_task_mask(self, task: int, mask: np.ndarray) -> None:
        """Replaces task's mask; values must be 0/1 and the shape must match."""
        if self.masks is None:
            raise ValueError(f"{self.name} has no masks (mask_type=None).")
        mask = np.asarray(mask, np.float32)
        expected = tuple(self.masks.shape[1:])
        if mask.shape != expected or not np.isin(mask, (0.0, 1.0)).all():
            raise ValueError(f"{self.name}: mask must be 0/1 of shape {expected}. Received shape "
                             f"{mask.shape}")
        masks = self.masks.numpy()
        masks[task] = mask
        self.masks.assign(masks)  # whole-variable assign: also works for mirrored variables

    def effective_kernel(self, task: int) -> np.ndarray:
        """W * M_task for weight masks, W with masked columns zeroed for neuron masks."""
        kernel = self.kernel.numpy()
        if self.mask_type == "weight":
            return kernel * self.task_mask(task)
        if self.mask_type == "neuron":
            return kernel * self.task_mask(task)[None, :]
        return kernel

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"units": self.units, "num_tasks": self.num_tasks,
                    "mask_type": self.mask_type,
                    "activation": tf.keras.activations.serialize(self.activation),
                    "use_bias": self.use_bias,
                    "kernel_initializer": tf.keras.initializers.serialize(
                        self.kernel_initializer)})
        return cfg


class MaskedMLP(tf.keras.layers.Layer):
    """A stack of ``MaskedDense`` layers sharing one mask type (the papers' sNET).

    Call args:
      inputs: [B, in] float32; task: int, whose masks to apply.
    Returns:
      [B, hidden_units[-1]] float32.
    """

    def __init__(self, hidden_units: Sequence[int], num_tasks: int = 2,
                 mask_type: Optional[str] = "weight", activation="relu", **kwargs):
        super().__init__(**kwargs)
        if not hidden_units:
            raise ValueError(f"`hidden_units` must not be empty. Received: {hidden_units}")
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.num_tasks = num_tasks
        self.mask_type = mask_type
        self.activation = activation
        self.dense_layers = [MaskedDense(u, num_tasks, mask_type, activation, name=f"dense_{i}")
                             for i, u in enumerate(self.hidden_units)]

    def call(self, inputs: tf.Tensor, task: int = 0) -> tf.Tensor:
        x = inputs
        for layer in self.dense_layers:
            x = layer(x, task=task)
        return x

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"hidden_units": list(self.hidden_units), "num_tasks": self.num_tasks,
                    "mask_type": self.mask_type, "activation": self.activation})
        return cfg
