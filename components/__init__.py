"""Custom TFX components (mask generation, ...). Filled in by the pipeline issue."""

import lt4rec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
