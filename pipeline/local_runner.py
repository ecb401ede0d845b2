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

from lt4rec.components.gates import GateStoppedError
from lt4rec.components.log_example_gen.executor import span_of_date
from lt4rec.schemas import logs
from lt4rec.pipeline import progress
from lt4rec.pipeline.beam import load_beam_args
from lt4rec.pipeline.config import PipelineConfig, TrainingSettings
from lt4rec.pipeline.decisions import Decision, decide
from lt4rec.pipeline.lineage import Lineage, open_store
from lt4rec.pipeline.retention import RetentionPolicy, RetentionReport
from lt4rec.pipeline import retention
from lt4rec.pipeline.pipeline import create_pipeline

PIPELINE_NAME = "lt4rec"
DEFAULT_BEAM_ARGS = tuple(load_beam_args("local"))  # pipeline/beam/local.json


@dataclasses.dataclass
class DayRun:
    """What one local run did: timings, the serving versions now there, and the decision
    on the day's model (pushed with its version, or why not; stopped by a gate)."""
    day: str
    seconds: float
    component_seconds: Dict[str, float]
    pushed_versions: List[str]
    decision: Decision = dataclasses.field(default_factory=lambda: Decision(False))


def log_days(data_root: str) -> List[dt.date]:
    """The days with log folders under ``data_root``, oldest first."""
    days = sorted({d for _, d in logs.find_log_files(data_root) if d is not None})
    if not days:
        raise FileNotFoundError(f"no YYYY-MM-DD day folders under {data_root}")
    return days


def local_config(data_root: str, root: str, day: dt.date,
                 training: TrainingSettings = TrainingSettings(),
                 beam_pipeline_args: Sequence[str] = DEFAULT_BEAM_ARGS,
                 accept_drift: Sequence[str] = ()) -> PipelineConfig:
    """The ``PipelineConfig`` of one local day: artifacts under ``root/pipeline``, pushes to
    ``root/serving``, the day's span."""
    return PipelineConfig(
        pipeline_root=os.path.join(root, "pipeline"), data_root=os.path.abspath(data_root),
        serving_root=os.path.join(root, "serving"), training=training,
        span=span_of_date(day.year, day.month, day.day), pipeline_name=PIPELINE_NAME,
        beam_pipeline_args=tuple(beam_pipeline_args), accept_drift=tuple(accept_drift))


def run_day(data_root: str, root: str, day: dt.date,
            training: TrainingSettings = TrainingSettings(),
            beam_pipeline_args: Sequence[str] = DEFAULT_BEAM_ARGS,
            accept_drift: Sequence[str] = ()) -> DayRun:
    """Runs the whole pipeline for one day's span; returns timings, versions and decision.

    A day stopped by a gate (anomalies, drift) returns with ``decision.stopped``; any other
    failure raises.

    Args:
      data_root: the log root; root: where ``pipeline/``, ``metadata.db`` and ``serving/`` go;
      day: the day to process; training: what to train and bless; beam_pipeline_args: Beam
        options (default ``pipeline/beam/local.json``); accept_drift: features (or ``all``)
        whose drift from the last accepted day the operator accepts for this run.
    """
    config = local_config(data_root, root, day, training, beam_pipeline_args, accept_drift)
    span = config.span
    serving_root = config.serving_root
    pipe = create_pipeline(
        config,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(root, "metadata.db")))
    start = time.perf_counter()
    try:
        with progress.timed_run() as timer:
            tfx.orchestration.LocalDagRunner().run(pipe)
        decision = decide(Lineage(open_store(root)), span)
    except Exception as err:  # noqa: BLE001 (re-raised unless a gate stopped the day)
        stop = gate_stop(err)
        if stop is None:
            raise
        decision = Decision(False, reasons=[stop.headline] + stop.reasons, stopped=True)
    pctr_dir = os.path.join(serving_root, "pctr")
    versions = sorted(os.listdir(pctr_dir)) if os.path.isdir(pctr_dir) else []
    return DayRun(day.isoformat(), time.perf_counter() - start, dict(timer.seconds),
                  [v for v in versions if v.isdigit()], decision)


def gate_stop(err: BaseException):
    """The GateStoppedError behind ``err`` (itself or a cause), or None."""
    while err is not None:
        if isinstance(err, GateStoppedError):
            return err
        err = err.__cause__ or err.__context__
    return None


def apply_retention(root: str, policy: RetentionPolicy) -> RetentionReport:
    """Retention (pipeline/retention.py) over a local root after a run."""
    return retention.apply(root, policy, Lineage(open_store(root)))
