"""The LT4REC TFX pipeline definition (wiring only; the work lives in components/ and models/).

    LogExampleGen (one day's span, validated rows -> typed tf.Examples, train/eval split)
      -> StatisticsGen -> ExampleValidator (against ImportSchemaGen(schemas/log_schema.pbtxt))
      -> AnomalyGate (stops the run on any anomaly)

Mask generation, training, evaluation and pushing attach after the gate (pipeline issue, in
progress).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

from tfx import v1 as tfx

from components.anomaly_gate import AnomalyGate
from components.log_example_gen import LogExampleGen
from schemas.contract import SCHEMA_PATH


def create_pipeline(pipeline_name: str, pipeline_root: str, data_root: str,
                    span: Optional[int] = None, schema_path: str = SCHEMA_PATH,
                    metadata_connection_config=None,
                    beam_pipeline_args: Sequence[str] = (),
                    enable_cache: bool = True) -> tfx.dsl.Pipeline:
    """Builds the pipeline.

    Args:
      pipeline_name: name in ML Metadata.
      pipeline_root: where artifacts are written.
      data_root: the log root (day folders ``YYYY-MM-DD/*.csv``).
      span: the day to process as a TFX span (days since 1970-01-01); None = latest day.
      schema_path: the traffic-log contract (TFMD schema pbtxt).
      metadata_connection_config: ML Metadata connection (None: the runner's default).
      beam_pipeline_args: Beam options (DirectRunner locally; Dataflow/Flink/Spark elsewhere).
      enable_cache: reuse outputs of components whose inputs did not change.
    """
    example_gen = LogExampleGen(input_base=data_root, span=span)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=schema_path)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    gate = AnomalyGate(anomalies=example_validator.outputs["anomalies"])
    components: List = [example_gen, statistics_gen, schema_gen, example_validator, gate]
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name, pipeline_root=pipeline_root, components=components,
        enable_cache=enable_cache, metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args))
