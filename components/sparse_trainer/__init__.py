"""SparseTrainer: joint training from theta through the MaskGen masks, warm-started daily."""

from lt4rec.components.sparse_trainer.component import SparseTrainer  # noqa: F401
