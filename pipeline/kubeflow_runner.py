"""Compiles the pipeline to a Kubeflow Pipelines v2 spec (KubeflowV2DagRunner)."""

import dataclasses

from tfx import v1 as tfx

from lt4rec.pipeline.config import PipelineConfig
from lt4rec.pipeline.pipeline import create_pipeline

IMAGE_SCHEMA_PATH = "/lt4rec/schemas/log_schema.pbtxt"
"""Where the Dockerfile puts the log contract inside the pipeline image."""


def image_config(config: PipelineConfig) -> PipelineConfig:
    """``config`` with the log contract read from where the image holds it."""
    return dataclasses.replace(config, schema_path=IMAGE_SCHEMA_PATH)


def compile_kubeflow(out_file: str, image: str, config: PipelineConfig) -> str:
    """Writes the pipeline spec JSON to ``out_file``; every component runs in ``image``.

    Args:
      config: the pipeline with the cluster's paths (e.g. ``gs://bucket/...``), no span (each
        scheduled run takes the latest day), Beam arguments selecting the runner there
        (``--runner=DataflowRunner --project=... --region=...``, Flink, Spark), and the schema
        path inside the image (``image_config``).
    """
    pipe = create_pipeline(config)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_filename=out_file)
    runner.run(pipe, write_out=True)
    return out_file
