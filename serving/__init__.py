"""gRPC serving of the pushed pCTR/pCVR models (TF Serving's PredictionService: ``model_server``,
``inference``, ``model_registry``, ``loaded_model``, ``warmup``) and the Eq. 3 ranking service
in front of them (``ranking``, ``rank_request``, ``model_clients``, ``protos/rank.proto``);
one server process (``server``) or several on one port (``workers``); operations around them
(``ops``: ``health``, ``metrics``, ``tls``, ``deadline``); k8s manifests (``k8s/``).
The commands (``lt4rec serve`` / ``lt4rec rank``) live in ``lt4rec.commands``."""

import lt4rec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
