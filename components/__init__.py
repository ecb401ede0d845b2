"""The pipeline's custom TFX components, each a folder with ``component.py`` (spec and
component) and ``executor.py`` (the work, calling ``lt4rec.models``): LogExampleGen (validated
logs -> tf.Examples), AnomalyGate, MaskGen (Algorithm 1), SparseTrainer, DualPusher; the Masks
artifact type (``artifacts.py``) and span-aware resolvers (``resolvers.py``). Layer: imports
``lt4rec.models`` and ``lt4rec.schemas`` only; knows nothing of ``lt4rec.serving``."""

import lt4rec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
