"""gRPC model and ranking services. Filled in by the serving issue."""

import lt4rec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
