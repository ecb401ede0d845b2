"""Compiles the pipeline to a Kubeflow Pipelines v2 spec (KubeflowV2DagRunner)."""

from typing import Sequence

from tfx import v1 as tfx

from lt4rec.pipeline.pipeline import create_pipeline

IMAGE_SCHEMA_PATH = "/lt4rec/schemas/log_schema.pbtxt"
"""Where the Dockerfile puts the log contract inside the pipeline image."""


def compile_kubeflow(out_file: str, image: str, pipeline_root: str, data_root: str,
                     serving_root: str, variant: str = "sparse_weight",
                     config_json: str = None,
                     beam_pipeline_args: Sequence[str] = (),
                     schema_path: str = IMAGE_SCHEMA_PATH, tuning=None) -> str:
    """Writes the pipeline spec JSON to ``out_file``; every component runs in ``image``.

    ``tuning`` (a ``models.tuning.SearchConfig``) adds TFX's Tuner before MaskGen.

    Paths are the cluster's (e.g. ``gs://bucket/...``); Beam arguments select the runner
    there (``--runner=DataflowRunner --project=... --region=...``, Flink, Spark).
    """
    pipe = create_pipeline("lt4rec", pipeline_root, data_root, serving_root=serving_root,
                           variant=variant, config_json=config_json,
                           schema_path=schema_path, beam_pipeline_args=beam_pipeline_args,
                           tuning=tuning)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_filename=out_file)
    runner.run(pipe, write_out=True)
    return out_file
