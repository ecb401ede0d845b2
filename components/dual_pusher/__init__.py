"""DualPusher: publishes the blessed pCTR and pCVR SavedModels as TF Serving versions."""

from lt4rec.components.dual_pusher.component import DualPusher  # noqa: F401
