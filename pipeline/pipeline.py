"""The LT4REC TFX pipeline definition (wiring only; the work lives in components/ and models/).

    LogExampleGen (one day's span, validated rows -> typed tf.Examples, train/eval split)
      -> StatisticsGen -> ExampleValidator (against ImportSchemaGen(schemas/log_schema.pbtxt))
      -> AnomalyGate (stops the run on any anomaly)
      -> DriftGate (stops the run on drift from the last accepted day's statistics beyond the
         schema's drift_comparator thresholds, unless accepted: pipeline/drift.py)
      -> Transform (models/preprocess.py: ids, padded list ids, buckets; its graph is put in
         front of the exported models, which take raw records)
      -> MaskGen (Algorithm 1 once; later days reuse the latest compatible Masks)
      -> SparseTrainer (joint training through the masks; warm start from the last blessed
         model of an earlier day) -> Evaluator (TFMA, thresholds vs that model)
      -> DualPusher (serving_root/pctr/<version>/, serving_root/pcvr/<version>/ if blessed)
"""

from __future__ import annotations

import json
from typing import List, Optional, Sequence

from tfx import v1 as tfx
from tfx.dsl.input_resolution.strategies.span_range_strategy import SpanRangeStrategy
from tfx.proto import range_config_pb2

from lt4rec.components.anomaly_gate import AnomalyGate
from lt4rec.components.artifacts import Masks
from lt4rec.components.dual_pusher import DualPusher
from lt4rec.components.log_example_gen import LogExampleGen
from lt4rec.components.mask_gen import MaskGen
from lt4rec.components.resolvers import LatestArtifactBeforeSpan, LatestBlessedModelBeforeSpan
from lt4rec.components.sparse_trainer import SparseTrainer
from lt4rec.models.config import make_config
from lt4rec.models.preprocess import transform_custom_config
from lt4rec.pipeline.drift import drift_gate_components
from lt4rec.pipeline.eval_config import BlessingConfig, eval_config
from lt4rec.schemas.contract import SCHEMA_PATH


def create_pipeline(pipeline_name: str, pipeline_root: str, data_root: str,
                    serving_root: Optional[str] = None, variant: str = "sparse_weight",
                    config_json: Optional[str] = None, span: Optional[int] = None,
                    window_days: int = 1, regenerate_masks: bool = False, seed: int = 0,
                    blessing: BlessingConfig = BlessingConfig(),
                    schema_path: str = SCHEMA_PATH,
                    metadata_connection_config=None,
                    beam_pipeline_args: Sequence[str] = (),
                    enable_cache: bool = True,
                    accept_drift: Sequence[str] = ()) -> tfx.dsl.Pipeline:
    """Builds the pipeline.

    Args:
      pipeline_name: name in ML Metadata.
      pipeline_root: where artifacts are written.
      data_root: the log root (day folders ``YYYY-MM-DD/*.csv``).
      serving_root: where blessed pctr/pcvr versions are pushed; None stops after validation.
      variant, config_json: the model (``models.config.make_config``).
      span: the day to process as a TFX span (days since 1970-01-01); None = latest day.
      window_days: train on the last N days' spans (a rolling window ending at ``span``);
        evaluation always uses the day's own eval split.
      regenerate_masks: search masks again instead of reusing the latest ones.
      seed: random seed of mask search and training.
      blessing: Evaluator thresholds.
      schema_path: the traffic-log contract (TFMD schema pbtxt).
      metadata_connection_config: ML Metadata connection (None: the runner's default).
      beam_pipeline_args: Beam options (DirectRunner locally; Dataflow/Flink/Spark elsewhere).
      enable_cache: reuse outputs of components whose inputs did not change.
      accept_drift: features (or ``all``) whose drift from the last accepted day the operator
        accepts for this run (components/drift_gate.py).
    """
    example_gen = LogExampleGen(input_base=data_root, span=span, schema_path=schema_path)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=schema_path)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    anomaly_gate = AnomalyGate(anomalies=example_validator.outputs["anomalies"])
    drift, gate = drift_gate_components(example_gen, statistics_gen, schema_gen, anomaly_gate,
                                        span, accept_drift)
    components: List = [example_gen, statistics_gen, schema_gen, example_validator,
                        anomaly_gate] + drift
    if serving_root:
        components += _training_components(example_gen, schema_gen, gate, serving_root, variant,
                                           config_json, regenerate_masks, seed, blessing, span,
                                           window_days)
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name, pipeline_root=pipeline_root, components=components,
        enable_cache=enable_cache, metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args))


def _window(example_gen, span: Optional[int], window_days: int):
    """Resolver of the Examples of the last ``window_days`` spans ending at ``span``."""
    if window_days < 1:
        raise ValueError(f"`window_days` must be >= 1. Received: window_days={window_days}")
    if span is None:
        config = range_config_pb2.RangeConfig(
            rolling_range=range_config_pb2.RollingRange(num_spans=window_days))
    else:
        config = range_config_pb2.RangeConfig(static_range=range_config_pb2.StaticRange(
            start_span_number=span - window_days + 1, end_span_number=span))
    return tfx.dsl.Resolver(
        strategy_class=SpanRangeStrategy, config={"range_config": config},
        examples=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Examples,
                                 producer_component_id=example_gen.id),
    ).with_id("window_resolver")


def _training_components(example_gen, schema_gen, gate, serving_root, variant, config_json,
                         regenerate_masks, seed, blessing, span, window_days) -> List:
    """Transform, mask search, training, evaluation and push, after the validation gate."""
    config = make_config(variant, json.loads(config_json) if config_json else None)
    out = []
    training_examples = example_gen.outputs["examples"]
    if window_days > 1:
        window = _window(example_gen, span, window_days)
        window.add_upstream_node(example_gen)
        training_examples = window.outputs["examples"]
        out.append(window)
    # No analyzers (see models/preprocess.py), so Transform's statistics would only repeat
    # StatisticsGen's on the raw day; they are turned off to save a Beam pass.
    transform = tfx.components.Transform(
        examples=training_examples, schema=schema_gen.outputs["schema"],
        preprocessing_fn="lt4rec.models.preprocess.preprocessing_fn",
        custom_config=transform_custom_config(config.features), disable_statistics=True)
    transform.add_upstream_node(gate)
    out.append(transform)
    transformed = {"transformed_examples": transform.outputs["transformed_examples"],
                   "transform_graph": transform.outputs["transform_graph"]}
    # With a fixed span, only earlier days' artifacts are eligible (cache-friendly re-runs,
    # safe backfills). Without one (scheduled runs, Kubeflow v2, which compiles only TFX's own
    # strategies) the plain latest artifacts are used.
    blessed_strategy, blessed_config = ((tfx.dsl.experimental.LatestBlessedModelStrategy, {})
                                        if span is None else
                                        (LatestBlessedModelBeforeSpan, {"before_span": span}))
    latest_blessed = tfx.dsl.Resolver(
        strategy_class=blessed_strategy, config=blessed_config,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    out.append(latest_blessed)
    masks = None
    if config.model.is_sparse:
        masks_strategy, masks_config = ((tfx.dsl.experimental.LatestArtifactStrategy, {})
                                        if span is None else
                                        (LatestArtifactBeforeSpan, {"before_span": span}))
        latest_masks = tfx.dsl.Resolver(
            strategy_class=masks_strategy, config=masks_config,
            masks=tfx.dsl.Channel(type=Masks)).with_id("latest_masks_resolver")
        mask_gen = MaskGen(examples=training_examples, variant=variant,
                           config_json=config_json, seed=seed, regenerate=regenerate_masks,
                           previous_masks=latest_masks.outputs["masks"], **transformed)
        masks = mask_gen.outputs["masks"]
        out += [latest_masks, mask_gen]
    trainer = SparseTrainer(examples=training_examples, variant=variant,
                            config_json=config_json, seed=seed, masks=masks,
                            base_model=latest_blessed.outputs["model"], **transformed)
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        baseline_model=latest_blessed.outputs["model"], eval_config=eval_config(blessing),
        example_splits=["eval"])
    pusher = DualPusher(model=trainer.outputs["model"],
                        model_blessing=evaluator.outputs["blessing"], serving_root=serving_root)
    return out + [trainer, evaluator, pusher]
