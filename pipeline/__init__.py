"""The TFX pipeline: its typed config (``config.py``: ``PipelineConfig``, ``TrainingSettings``),
its wiring (``pipeline.py``: ``create_pipeline``), the Evaluator's TFMA config
(``eval_config.py``), Beam options (``beam.py``) and the runners (``local_runner.py``,
``kubeflow_runner.py``). Layer: above ``lt4rec.components``, below the applications."""

import lt4rec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
