"""The model family: one Keras model assembled from named parts, configured into variants.

    raw features -> InputArch (FeatureEmbedding -> FeatureCross, + numerics) -> over-arch(task)
                 -> head(task)

Only the over-arch differs between variants (``ModelConfig.sharing``):

============== ============================================================================
sharing        over-arch for task t
============== ============================================================================
none           SingleTask: task t's own InputArch (embeddings) *and* its own MLP tower
hard           LayerShare: shared embeddings/cross, task t's own MLP tower
sparse_weight  S-Weight: one shared MLP (sNET) through task t's weight mask
sparse_neuron  S-Neuron: one shared MLP (sNET) through task t's neuron mask
mmoe           shared expert MLPs mixed by task t's softmax gate, then task t's tower
ple            PLE (``models/ple.py``): levels of shared + per-task experts, per-task gates
               (and a shared gate between levels), then task t's tower
============== ============================================================================

With all-ones masks, ``sparse_*`` is exactly one MLP shared by both tasks (plus per-task heads),
i.e. hard sharing of the whole MLP. Multiview (``multiview_dim`` > 0) widens every field
embedding; the extra dims reach the over-arch for CVR only (CTR sees zeros there, so those
weights get no CTR gradient).
"""

from __future__ import annotations

from typing import Dict, List

import tensorflow as tf

from lt4rec.models.config import LT4RecConfig
from lt4rec.models.features import FeatureEmbedding
from lt4rec.models.layers import FeatureCross, MaskedDense, MaskedMLP
from lt4rec.models.ple import PLEArch, mix_experts
from lt4rec.models.tasks import CVR, OUTPUT_NAMES, TASKS
from lt4rec.models.config import config_from_dict


class InputArch(tf.keras.layers.Layer):
    """Raw features -> [B, d] over-arch input: crossed shared embeddings, numerics, multiview.

    Call args:
      features: raw model-input columns, each [B]; task: int, who is looking (multiview).
    Returns:
      [B, F*D + F(F-1)/2 + N (+ F*multiview_dim)] float32.
    """

    def __init__(self, embedding: FeatureEmbedding, cross: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.embedding = embedding
        self.cross = FeatureCross(name="cross") if cross else None

    def call(self, features: Dict[str, tf.Tensor], task: int = 0) -> tf.Tensor:
        emb = self.embedding
        fields, dense = emb(features)
        dim = emb.config.embedding_dim
        shared = fields[:, :, :dim]
        crossed = (self.cross(shared) if self.cross is not None
                   else tf.reshape(shared, [-1, emb.num_fields * dim]))
        parts = [crossed, dense]
        if emb.multiview_dim:
            extra = tf.reshape(fields[:, :, dim:], [-1, emb.num_fields * emb.multiview_dim])
            parts.append(extra if task == CVR else tf.zeros_like(extra))
        return tf.concat(parts, axis=1)


class TowerArch(tf.keras.layers.Layer):
    """A separate MLP tower per task (SingleTask, LayerShare, ESMM)."""

    def __init__(self, hidden_units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.towers = [MaskedMLP(hidden_units, 1, None, activation, name=f"tower_{t}")
                       for t in OUTPUT_NAMES]

    def call(self, x: tf.Tensor, task: int = 0) -> tf.Tensor:
        return self.towers[task](x)

    def task_layers(self, task: int) -> List[tf.keras.layers.Layer]:
        return [self.towers[task]]

    @property
    def shared_variables(self) -> List[tf.Variable]:
        """Trainable variables both tasks use (none: each task has its own tower)."""
        return []


class MMoETask(tf.keras.layers.Layer):
    """One task's view of MMoE: softmax(gate(x)) mixture of shared experts, then its tower."""

    def __init__(self, experts, gate, tower, **kwargs):
        super().__init__(**kwargs)
        self.experts, self.gate, self.tower = experts, gate, tower

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.tower(mix_experts([e(x) for e in self.experts], self.gate(x)))


class MMoEArch(tf.keras.layers.Layer):
    """Multi-gate mixture of experts (Ma et al., KDD 2018)."""

    def __init__(self, hidden_units, num_experts, tower_units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        experts = [MaskedMLP(hidden_units, 1, None, activation, name=f"expert_{e}")
                   for e in range(num_experts)]
        self.per_task = [MMoETask(experts,
                                  tf.keras.layers.Dense(num_experts, activation="softmax",
                                                        name=f"gate_{t}"),
                                  MaskedMLP(tower_units, 1, None, activation, name=f"tower_{t}"),
                                  name=f"mmoe_{t}")
                         for t in OUTPUT_NAMES]

    def call(self, x: tf.Tensor, task: int = 0) -> tf.Tensor:
        return self.per_task[task](x)

    def task_layers(self, task: int) -> List[tf.keras.layers.Layer]:
        return [self.per_task[task]]

    @property
    def shared_variables(self) -> List[tf.Variable]:
        """The experts' trainable variables (both tasks' gates mix them)."""
        return [v for e in self.per_task[0].experts for v in e.trainable_variables]


class SparseArch(tf.keras.layers.Layer):
    """sNET: one MLP of ``MaskedDense`` layers shared by the tasks through their masks."""

    def __init__(self, hidden_units, mask_type: str, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.snet = MaskedMLP(hidden_units, len(TASKS), mask_type, activation, name="snet")

    def call(self, x: tf.Tensor, task: int = 0) -> tf.Tensor:
        return self.snet(x, task=task)

    @property
    def shared_variables(self) -> List[tf.Variable]:
        """sNET's kernels and biases (each task sees them through its mask)."""
        return list(self.snet.trainable_variables)


class MultiTaskRanker(tf.keras.Model):
    """pCTR/pCVR ranker.

    Call args:
      features: dict of raw model-input columns, each [B].
    Returns:
      {"pctr": [B], "pcvr": [B]} probabilities (pcvr is the expected watch ratio).
    """

    def __init__(self, config: LT4RecConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        m = config.model
        n_inputs = len(TASKS) if m.sharing == "none" else 1
        self.input_archs = [InputArch(FeatureEmbedding(config.features, m.multiview_dim,
                                                       name=f"embedding_{i}"),
                                      m.cross, name=f"input_arch_{i}")
                            for i in range(n_inputs)]
        if m.is_sparse:
            mask_type = "weight" if m.sharing == "sparse_weight" else "neuron"
            self.over_arch = SparseArch(m.hidden_units, mask_type, m.activation, name="over_arch")
        elif m.sharing == "mmoe":
            self.over_arch = MMoEArch(m.hidden_units, m.num_experts, m.tower_units, m.activation,
                                      name="over_arch")
        elif m.sharing == "ple":
            self.over_arch = PLEArch(m.hidden_units, m.num_shared_experts, m.num_task_experts,
                                     m.extraction_levels, m.tower_units, len(TASKS),
                                     m.activation, name="over_arch")
        else:
            self.over_arch = TowerArch(m.hidden_units, m.activation, name="over_arch")
        self.heads = [MaskedDense(1, 1, None, "sigmoid", name=f"head_{t}") for t in OUTPUT_NAMES]

    def input_arch_for(self, task: int) -> InputArch:
        return self.input_archs[task if len(self.input_archs) > 1 else 0]

    def task_output(self, features: Dict[str, tf.Tensor], task: int) -> tf.Tensor:
        """Task ``task``'s prediction, [B] in (0, 1)."""
        x = self.input_arch_for(task)(features, task=task)
        return tf.reshape(self.heads[task](self.over_arch(x, task=task)), [-1])

    def call(self, features: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        return {OUTPUT_NAMES[t]: self.task_output(features, t) for t in TASKS}

    @property
    def masked_layers(self) -> List[MaskedDense]:
        """sNET's mask layers (empty for variants without masks)."""
        if isinstance(self.over_arch, SparseArch):
            return list(self.over_arch.snet.dense_layers)
        return []

    @property
    def shared_variables(self) -> List[tf.Variable]:
        """Trainable variables both tasks' losses reach: the shared InputArch (embeddings;
        none for SingleTask) and the over-arch's shared part (sNET, MMoE/PLE shared experts)."""
        if len(self.input_archs) > 1:
            return []
        return list(self.input_archs[0].trainable_variables) + self.over_arch.shared_variables

    def get_config(self):
        return {"config": self.config.to_dict()}

    @classmethod
    def from_config(cls, cfg):
        return cls(config_from_dict(cfg["config"]))


def build_model(config: LT4RecConfig, sample_features: Dict[str, tf.Tensor]) -> MultiTaskRanker:
    """Creates the model and its weights (one forward pass on a few sample rows)."""
    model = MultiTaskRanker(config, name=f"lt4rec_{config.variant}")
    model({k: v[:2] for k, v in sample_features.items()})
    return model
