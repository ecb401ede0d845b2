"""pCTR/pCVR model family (sparse sharing, baselines, exports). Filled in by the model issue."""

import lt4rec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
