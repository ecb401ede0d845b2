"""Runs the pipeline on this machine: LocalDagRunner, SQLite ML Metadata, Beam DirectRunner.

Layout under ``root``: ``pipeline/`` (artifacts), ``metadata.db`` (ML Metadata), ``serving/``
(pushed ``pctr/<version>``, ``pcvr/<version>``). Re-running a finished day reuses every cached
component; a run killed midway resumes from the first component that did not finish.
"""

import dataclasses
import datetime as dt
import os
import time
from typing import Dict, List, Sequence

from tfx import v1 as tfx

from lt4rec.components.log_example_gen.executor import span_of_date
from lt4rec.schemas import logs
from lt4rec.pipeline import progress
from lt4rec.pipeline.beam import load_beam_args
from lt4rec.pipeline.config import PipelineConfig, TrainingSettings
from lt4rec.pipeline.pipeline import create_pipeline

PIPELINE_NAME = "lt4rec"
DEFAULT_BEAM_ARGS = tuple(load_beam_args("local"))  # pipeline/beam/local.json


@dataclasses.dataclass
class DayRun:
    """What one local run did."""
    day: str
    seconds: float
    component_seconds: Dict[str, float]
    pushed_versions: List[str]


def log_days(data_root: str) -> List[dt.date]:
    """The days with log folders under ``data_root``, oldest first."""
    days = sorted({d for _, d in logs.find_log_files(data_root) if d is not None})
    if not days:
        raise FileNotFoundError(f"no YYYY-MM-DD day folders under {data_root}")
    return days


def local_config(data_root: str, root: str, day: dt.date,
                 training: TrainingSettings = TrainingSettings(),
                 beam_pipeline_args: Sequence[str] = DEFAULT_BEAM_ARGS) -> PipelineConfig:
    """The ``PipelineConfig`` of one local day: artifacts under ``root/pipeline``, pushes to
    ``root/serving``, the day's span."""
    return PipelineConfig(
        pipeline_root=os.path.join(root, "pipeline"), data_root=os.path.abspath(data_root),
        serving_root=os.path.join(root, "serving"), training=training,
        span=span_of_date(day.year, day.month, day.day), pipeline_name=PIPELINE_NAME,
        beam_pipeline_args=tuple(beam_pipeline_args))


def run_day(data_root: str, root: str, day: dt.date,
            training: TrainingSettings = TrainingSettings(),
            beam_pipeline_args: Sequence[str] = DEFAULT_BEAM_ARGS) -> DayRun:
    """Runs the whole pipeline for one day's span; returns timings and pushed versions.

    Args:
      data_root: the log root; root: where ``pipeline/``, ``metadata.db`` and ``serving/`` go;
      day: the day to process; training: what to train and bless; beam_pipeline_args: Beam
        options (default ``pipeline/beam/local.json``).
    """
    config = local_config(data_root, root, day, training, beam_pipeline_args)
    serving_root = config.serving_root
    pipe = create_pipeline(
        config,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(root, "metadata.db")))
    start = time.perf_counter()
    with progress.timed_run() as timer:
        tfx.orchestration.LocalDagRunner().run(pipe)
    pctr_dir = os.path.join(serving_root, "pctr")
    versions = sorted(os.listdir(pctr_dir)) if os.path.isdir(pctr_dir) else []
    return DayRun(day.isoformat(), time.perf_counter() - start, dict(timer.seconds),
                  [v for v in versions if v.isdigit()])
