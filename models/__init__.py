"""pCTR/pCVR model family: features, sparse-sharing layers, Algorithm 1, training, exports, Eq. 3."""

import lt4rec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
