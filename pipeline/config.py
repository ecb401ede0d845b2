"""The typed configuration of one pipeline run: what ``create_pipeline`` builds from.

``TrainingSettings`` says what to train and when to bless it (the model variant and its
overrides, seed, rolling window, mask reuse, Evaluator thresholds); ``PipelineConfig`` adds
where things live and how the pipeline runs (roots, span, log contract, Beam, cache). Both
check their values when built, so a bad value fails at the command line rather than inside a
component. NumPy/TFX-free: the CLI builds them before importing TFX.

The components still receive the model overrides as a JSON string (TFX execution properties
are strings); ``TrainingSettings.config_json`` is that string.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Mapping, Optional, Tuple

from lt4rec.models.config import LT4RecConfig, load_overrides, make_config  # noqa: F401 (re-exported)
from lt4rec.schemas.contract import SCHEMA_PATH

if TYPE_CHECKING:  # models.tuning imports TensorFlow and KerasTuner
    from lt4rec.models.tuning import SearchConfig


@dataclasses.dataclass(frozen=True)
class BlessingConfig:
    """Thresholds a model must meet to be pushed (``pipeline.eval_config``)."""
    min_ctr_auc: float = 0.55
    max_cvr_mse: float = 0.2
    max_ctr_auc_drop: float = 0.01
    max_cvr_mse_rise: float = 0.005


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """What the pipeline trains each day and how a model is blessed.

    Attributes:
      variant: a ``models.config.VARIANTS`` preset.
      model_overrides: config overrides on top of the preset, e.g. ``{"trainer": {"epochs": 2}}``.
      seed: random seed of mask search and training.
      window_days: train on the last N days' spans (a rolling window ending at the day);
        evaluation always uses the day's own eval split.
      regenerate_masks: search masks again instead of reusing the latest ones.
      blessing: Evaluator thresholds.
      tuning: run TFX's Tuner with these search settings before MaskGen; its best
        hyper-parameters overlay the config of MaskGen and SparseTrainer (None: no Tuner).
      train_workers: MaskGen and SparseTrainer each train as this many worker processes on
        this host (MultiWorkerMirroredStrategy, TF_CONFIG on 127.0.0.1; the global batch is
        ``trainer.batch_size`` as with one); 1 trains in the component's process. In a pod
        that already has TF_CONFIG (TFJob, Vertex AI) the pod is one worker and starts none.
    """
    variant: str = "sparse_weight"
    model_overrides: Optional[Mapping] = None
    seed: int = 0
    window_days: int = 1
    regenerate_masks: bool = False
    blessing: BlessingConfig = BlessingConfig()
    tuning: Optional["SearchConfig"] = None
    train_workers: int = 1

    def __post_init__(self):
        for name in ("window_days", "train_workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1. Received: {name}={getattr(self, name)}")
        self.model_config()  # raises ValueError on an unknown variant or override

    def model_config(self) -> LT4RecConfig:
        """The variant's config with the overrides applied."""
        return make_config(self.variant, dict(self.model_overrides or {}) or None)

    @property
    def config_json(self) -> Optional[str]:
        """The overrides as the components' ``config_json`` execution property (None: none)."""
        return json.dumps(self.model_overrides) if self.model_overrides else None


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """One pipeline: where it reads and writes, which day, what it trains.

    Attributes:
      pipeline_root: where artifacts are written.
      data_root: the log root (day folders ``YYYY-MM-DD/*.csv``).
      serving_root: where blessed pctr/pcvr versions are pushed; None stops after validation.
      training: ``TrainingSettings``.
      span: the day to process as a TFX span (days since 1970-01-01); None = latest day.
      pipeline_name: name in ML Metadata.
      schema_path: the traffic-log contract (TFMD schema pbtxt).
      beam_pipeline_args: Beam options (DirectRunner locally; Dataflow/Flink/Spark elsewhere).
      enable_cache: reuse outputs of components whose inputs did not change.
      accept_drift: features (or ``all``) whose drift from the last accepted day the operator
        accepts for this run (components/drift_gate.py).
    """
    pipeline_root: str
    data_root: str
    serving_root: Optional[str] = None
    training: TrainingSettings = TrainingSettings()
    span: Optional[int] = None
    pipeline_name: str = "lt4rec"
    schema_path: str = SCHEMA_PATH
    beam_pipeline_args: Tuple[str, ...] = ()
    enable_cache: bool = True
    accept_drift: Tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("pipeline_root", "data_root", "pipeline_name"):
            if not getattr(self, name):
                raise ValueError(f"`{name}` must be set. Received: {name}={getattr(self, name)!r}")
        object.__setattr__(self, "beam_pipeline_args", tuple(self.beam_pipeline_args))
