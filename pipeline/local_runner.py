"""Runs the pipeline on this machine: LocalDagRunner, SQLite ML Metadata, Beam DirectRunner.

Layout under ``root``: ``pipeline/`` (artifacts), ``metadata.db`` (ML Metadata), ``serving/``
(pushed ``pctr/<version>``, ``pcvr/<version>``). Re-running a finished day reuses every cached
component; a run killed midway resumes from the first component that did not finish.
"""

import dataclasses
import datetime as dt
import os
import time
from typing import Dict, List, Optional, Sequence

from tfx import v1 as tfx

from lt4rec.components.gates import GateStoppedError
from lt4rec.components.log_example_gen.executor import span_of_date
from lt4rec.schemas import logs
from lt4rec.pipeline import progress
from lt4rec.pipeline.beam import load_beam_args
from lt4rec.pipeline.decisions import Decision, decide
from lt4rec.pipeline.lineage import Lineage, open_store
from lt4rec.pipeline.retention import RetentionPolicy, RetentionReport
from lt4rec.pipeline import retention
from lt4rec.pipeline.eval_config import BlessingConfig
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


def run_day(data_root: str, root: str, day: dt.date, variant: str = "sparse_weight",
            config_json: Optional[str] = None, window_days: int = 1,
            regenerate_masks: bool = False, seed: int = 0,
            blessing: BlessingConfig = BlessingConfig(),
            beam_pipeline_args: Sequence[str] = DEFAULT_BEAM_ARGS,
            accept_drift: Sequence[str] = ()) -> DayRun:
    """Runs the whole pipeline for one day's span; returns timings, versions and decision.

    A day stopped by a gate (anomalies, drift) returns with ``decision.stopped``; any other
    failure raises.
    """
    serving_root = os.path.join(root, "serving")
    span = span_of_date(day.year, day.month, day.day)
    pipe = create_pipeline(
        PIPELINE_NAME, os.path.join(root, "pipeline"), os.path.abspath(data_root),
        serving_root=serving_root, variant=variant, config_json=config_json,
        span=span, window_days=window_days,
        regenerate_masks=regenerate_masks,
        seed=seed, blessing=blessing,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(root, "metadata.db")),
        beam_pipeline_args=beam_pipeline_args, accept_drift=accept_drift)
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
