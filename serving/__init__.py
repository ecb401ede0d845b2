"""gRPC serving of the pushed pCTR/pCVR models (TF Serving's PredictionService: ``model_server``,
``model_registry``, ``loaded_model``) and the Eq. 3 ranking service in front of it (``ranking``,
``rank_request``, ``protos/rank.proto``); ``lt4rec serve`` / ``lt4rec rank`` (``serve_cli``,
``rank_cli``); files for real TF Serving (``tf_serving_config``, ``warmup``, ``k8s/``); the
serve benchmark (``bench``)."""

import lt4rec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
