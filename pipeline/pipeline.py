"""The LT4REC TFX pipeline definition (wiring only; the work lives in components/ and models/).

    LogExampleGen (one day's span, validated rows -> typed tf.Examples, train/eval split)
      -> StatisticsGen -> ExampleValidator (against ImportSchemaGen(schemas/log_schema.pbtxt))
      -> AnomalyGate (stops the run on any anomaly)
      -> DriftGate (stops the run on drift from the last accepted day's statistics beyond the
         schema's drift_comparator thresholds, unless accepted: pipeline/drift.py)
      -> Transform (models/preprocess.py: ids, padded list ids, buckets; its graph is put in
         front of the exported models, which take raw records)
      [-> Tuner (optional, ``tuning``: TFX's Tuner running components/tuner_module.py, the
          search of ``lt4rec tune``; its best hyper-parameters feed MaskGen and SparseTrainer)]
      -> MaskGen (Algorithm 1 once; later days reuse the latest compatible Masks)
      -> SparseTrainer (joint training through the masks; warm start from the last blessed
         model of an earlier day) -> Evaluator (TFMA, thresholds vs that model)
         (MaskGen and SparseTrainer train on ``train_workers`` worker processes when > 1)
      -> DualPusher (serving_root/pctr/<version>/, serving_root/pcvr/<version>/ if blessed)
"""

from __future__ import annotations

from typing import List, Optional

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
from lt4rec.components.tuner_module import custom_config as tuner_custom_config
from lt4rec.models.preprocess import transform_custom_config
from lt4rec.pipeline.config import PipelineConfig, TrainingSettings
from lt4rec.pipeline.drift import drift_gate_components
from lt4rec.pipeline.eval_config import eval_config


def create_pipeline(config: PipelineConfig,
                    metadata_connection_config=None) -> tfx.dsl.Pipeline:
    """Builds the pipeline.

    Args:
      config: roots, span, training settings, contract, Beam options (``PipelineConfig``).
      metadata_connection_config: ML Metadata connection (None: the runner's default).
    """
    example_gen = LogExampleGen(input_base=config.data_root, span=config.span,
                                schema_path=config.schema_path)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=config.schema_path)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    anomaly_gate = AnomalyGate(anomalies=example_validator.outputs["anomalies"])
    drift, gate = drift_gate_components(example_gen, statistics_gen, schema_gen, anomaly_gate,
                                        config.span, config.accept_drift)
    components: List = [example_gen, statistics_gen, schema_gen, example_validator,
                        anomaly_gate] + drift
    if config.serving_root:
        components += _training_components(example_gen, schema_gen, gate, config.serving_root,
                                           config.training, config.span)
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name, pipeline_root=config.pipeline_root,
        components=components, enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(config.beam_pipeline_args))


def _window(example_gen, span: Optional[int], window_days: int):
    """Resolver of the Examples of the last ``window_days`` spans ending at ``span``."""
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


def _training_components(example_gen, schema_gen, gate, serving_root: str,
                         training: TrainingSettings, span: Optional[int]) -> List:
    """Transform, mask search, training, evaluation and push, after the validation gate."""
    config = training.model_config()
    model_properties = {"variant": training.variant, "config_json": training.config_json,
                        "seed": training.seed, "train_workers": training.train_workers}
    out = []
    training_examples = example_gen.outputs["examples"]
    if training.window_days > 1:
        window = _window(example_gen, span, training.window_days)
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
    tuned = {}
    if training.tuning is not None:
        tuner = _tuner(transform, training.variant, training.config_json, training.seed,
                       training.tuning)
        tuned = {"hyperparameters": tuner.outputs["best_hyperparameters"]}
        out.append(tuner)
    masks = None
    if config.model.is_sparse:
        masks_strategy, masks_config = ((tfx.dsl.experimental.LatestArtifactStrategy, {})
                                        if span is None else
                                        (LatestArtifactBeforeSpan, {"before_span": span}))
        latest_masks = tfx.dsl.Resolver(
            strategy_class=masks_strategy, config=masks_config,
            masks=tfx.dsl.Channel(type=Masks)).with_id("latest_masks_resolver")
        mask_gen = MaskGen(examples=training_examples, regenerate=training.regenerate_masks,
                           previous_masks=latest_masks.outputs["masks"], **model_properties,
                           **transformed, **tuned)
        masks = mask_gen.outputs["masks"]
        out += [latest_masks, mask_gen]
    trainer = SparseTrainer(examples=training_examples, masks=masks,
                            base_model=latest_blessed.outputs["model"], **model_properties,
                            **transformed, **tuned)
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        baseline_model=latest_blessed.outputs["model"], eval_config=eval_config(training.blessing),
        example_splits=["eval"])
    pusher = DualPusher(model=trainer.outputs["model"],
                        model_blessing=evaluator.outputs["blessing"], serving_root=serving_root)
    return out + [trainer, evaluator, pusher]


def _tuner(transform, variant, config_json, seed, search: SearchConfig):
    """TFX's Tuner over Transform's outputs: trials train on ``train``, score on ``eval``."""
    return tfx.components.Tuner(
        tuner_fn="lt4rec.components.tuner_module.tuner_fn",
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        train_args=tfx.proto.TrainArgs(splits=["train"]),
        eval_args=tfx.proto.EvalArgs(splits=["eval"]),
        custom_config=tuner_custom_config(variant, config_json, seed, search))
