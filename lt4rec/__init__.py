"""LT4REC: lottery-ticket sparse sharing for multi-task (pCTR/pCVR) video ranking.

Importing any LT4REC package runs this bootstrap before anything imports TensorFlow:

* ``TF_USE_LEGACY_KERAS=1``: tfmot and TFRS need the tf-keras (Keras 2) API, and TensorFlow
  reads the variable once, when it is imported.
* Quiet by default (``configure_output``): the libraries under LT4REC (TensorFlow's C++ runtime,
  absl, Beam, TFX, the Google clients Beam's GCP extras pull in) are silenced at the source:
  environment variables (which Beam worker subprocesses and TFX executors inherit), logger
  levels, and warning filters for the named notices that say nothing actionable. Each command
  prints its own progress and results, and errors still come through. ``lt4rec --verbose`` or
  ``LT4REC_VERBOSE=1`` turns all of it back on.
"""

import atexit
import logging
import os
import sys
import warnings

from absl import logging as absl_logging

VERBOSE_ENV = "LT4REC_VERBOSE"

if ("tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1"
        and not os.environ.get("LT4REC_ALLOW_LATE_IMPORT")):
    # A subprocess that inherited TF_USE_LEGACY_KERAS=1 (a Beam worker) imported TF correctly.
    warnings.warn("TensorFlow was imported before LT4REC; TF_USE_LEGACY_KERAS=1 may not take "
                  "effect. Import lt4rec (or any LT4REC package) before tensorflow.",
                  RuntimeWarning, stacklevel=2)
os.environ["TF_USE_LEGACY_KERAS"] = "1"

# Environment read by the libraries themselves (and inherited by their subprocesses).
# TF_CPP_MIN_LOG_LEVEL=3: also the "Unable to register cuDNN/cuFFT/cuBLAS factory" lines that
# TF's C++ prints at import in every process (a harmless duplicate registration of its CUDA
# plugins; they are level E, so 2 keeps them), Beam workers included.
_QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR", "AUTOGRAPH_VERBOSITY": "0"}
_LOUD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "0", "GRPC_VERBOSITY": "INFO", "AUTOGRAPH_VERBOSITY": "1"}
_USER_ENV = {name for name in _QUIET_ENV if name in os.environ}  # the user's own choice wins
# Python loggers of the stack: progress/INFO lines and WARNINGs (e.g. tf.function retracing,
# Beam workers' "No semi_persistent_directory", TFX's "property_predicate is not supported").
_NOISY_LOGGERS = ("tensorflow", "apache_beam", "tfx", "tensorflow_transform",
                  "tensorflow_model_analysis", "tensorflow_data_validation", "ml_metadata")
# (category, message prefix): notices about the pinned stack itself, not about this run.
_NOTICES = (
    (FutureWarning, "You are using a non-supported Python version"),      # google-api-core
    (FutureWarning, "Support for google-cloud-storage < 3.0.0"),           # aiplatform
)
_PYTHONWARNINGS_LOUD = os.environ.get("PYTHONWARNINGS", "")


def is_verbose() -> bool:
    """True when ``LT4REC_VERBOSE`` asks for the libraries' own output."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def configure_output(verbose: bool = None) -> None:
    """Quiet (default) or verbose output of the libraries LT4REC drives.

    Call it before TensorFlow is imported for the C++ log level to take effect (``lt4rec``
    does, right after parsing ``--verbose``); the rest applies at any time.

    Args:
      verbose: True/False to choose (and export ``LT4REC_VERBOSE`` to subprocesses);
        None reads ``LT4REC_VERBOSE``.
    """
    if verbose is None:
        verbose = is_verbose()
    else:
        os.environ[VERBOSE_ENV] = "1" if verbose else "0"
    for name, value in (_LOUD_ENV if verbose else _QUIET_ENV).items():
        if name not in _USER_ENV:
            os.environ[name] = value
    level = logging.NOTSET if verbose else logging.ERROR
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    _absl_verbosity(verbose)
    _warning_filters(verbose)


def _absl_verbosity(verbose: bool) -> None:
    # The verbosity TFX's executors and LocalDagRunner log through (absl's own logger, which
    # absl creates with its logger class on import, hence the import above, not a getLogger).
    absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.ERROR)


def _warning_filters(verbose: bool) -> None:
    entries = [f"ignore:{prefix}:{category.__name__}" for category, prefix in _NOTICES]
    if verbose:
        os.environ["PYTHONWARNINGS"] = _PYTHONWARNINGS_LOUD
        return
    for category, prefix in _NOTICES:
        warnings.filterwarnings("ignore", message=prefix.replace(".", r"\."), category=category)
    # Subprocesses (Beam workers) apply these before importing anything.
    # (A Beam worker inherits them already; dict.fromkeys keeps one of each, in order.)
    merged = _PYTHONWARNINGS_LOUD.split(",") + entries
    os.environ["PYTHONWARNINGS"] = ",".join(dict.fromkeys(filter(None, merged)))


def _quiet_tf_function_teardown() -> None:
    """At interpreter exit, drops the one known-harmless unraisable error of TensorFlow.

    ``AtomicFunction.__del__`` decrements a module-level refcount table; objects still alive at
    shutdown (Beam workers hold Transform's graphs in shared caches until the end) are
    collected after that module's globals were cleared, so every such worker printed
    ``TypeError: 'NoneType' object is not subscriptable``. Installed by ``atexit`` (i.e. only
    once shutdown begins), it passes every other unraisable error to the previous hook.
    """
    if is_verbose():
        return
    previous = sys.unraisablehook

    def hook(unraisable, _previous=previous, _type=TypeError,
             _name="AtomicFunction.__del__"):
        if not (unraisable.exc_type is _type
                and getattr(unraisable.object, "__qualname__", "") == _name):
            _previous(unraisable)

    sys.unraisablehook = hook


configure_output()
atexit.register(_quiet_tf_function_teardown)

__version__ = "0.1.0"
