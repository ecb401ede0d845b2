"""DualPusher: publishes the blessed pCTR and pCVR SavedModels as TF Serving versions."""

from components.dual_pusher.component import DualPusher  # noqa: F401
