"""LT4REC: lottery-ticket sparse sharing for multi-task (pCTR/pCVR) video ranking.

Importing any LT4REC package sets ``TF_USE_LEGACY_KERAS=1`` first: tfmot and TFRS need the
tf-keras (Keras 2) API, and TensorFlow reads the variable once, when it is imported.
"""

import os
import sys
import warnings

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter; set 0 to see it
if "tensorflow" in sys.modules and not os.environ.get("LT4REC_ALLOW_LATE_IMPORT"):
    warnings.warn("TensorFlow was imported before LT4REC; TF_USE_LEGACY_KERAS=1 may not take "
                  "effect. Import lt4rec (or any LT4REC package) before tensorflow.",
                  RuntimeWarning, stacklevel=2)
# google-api-core (pulled in by Beam's GCP extras) warns on every import that Python 3.10 support
# ends; the stack is pinned to 3.10 by TFX 1.16, so the warning says nothing actionable.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.api_core\..*")

__version__ = "0.1.0"
