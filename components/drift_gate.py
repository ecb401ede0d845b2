"""DriftGate: stops a day whose statistics moved too far from the previous accepted day's.

ExampleValidator (TFX 1.16) checks one day against the schema but takes no baseline, so a day
whose distribution moved (a new surface, a logging bug that halves watch times) would pass and
train. The gate compares the day's ``train`` statistics with those of the last day that passed
the gates, using TFDV's drift comparators declared in the schema (``drift_comparator``:
``infinity_norm`` for categorical features, ``jensen_shannon_divergence`` for numeric ones, each
with its threshold), and raises ``DriftFoundError`` naming every feature beyond its threshold.

An operator who knows a shift is real accepts it for the run (``accept_drift``: feature names,
or ``all``); the gate then lets the day through and says which drift it accepted. A day that
passes is published as ``AcceptedStatistics`` (a copy of its statistics, with its span): the
next day's baseline. The first day has no baseline and passes.
"""

import datetime as dt
import os
import shutil
from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow_data_validation as tfdv
from absl import logging
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2
from tfx import v1 as tfx
from tfx.types import standard_artifacts
from tfx.utils import io_utils

from lt4rec.components.artifacts import AcceptedStatistics
from lt4rec.components.common import SPAN_PROPERTY, TRAIN_SPLIT
from lt4rec.components.gates import GateStoppedError

STATS_FILE = "FeatureStats.pb"
ACCEPT_ALL = "all"
_MEASURES = {anomalies_pb2.DriftSkewInfo.Measurement.L_INFTY: "L-infinity distance",
             anomalies_pb2.DriftSkewInfo.Measurement.JENSEN_SHANNON_DIVERGENCE:
                 "Jensen-Shannon divergence"}

# feature -> (measure, value, threshold)
Measurements = Dict[str, Tuple[str, float, float]]


class DriftFoundError(GateStoppedError):
    """The day drifted beyond a schema threshold on at least one feature not accepted."""


def load_statistics(uri: str, split: str = TRAIN_SPLIT) -> statistics_pb2.DatasetFeatureStatisticsList:
    """The statistics of one split of an ExampleStatistics/AcceptedStatistics artifact."""
    return tfdv.load_stats_binary(os.path.join(uri, f"Split-{split}", STATS_FILE))


def drift_measurements(current, previous, schema: schema_pb2.Schema) -> Measurements:
    """Every drift comparator of ``schema`` evaluated between two days' statistics."""
    anomalies = tfdv.validate_statistics(current, schema, previous_statistics=previous)
    out = {}
    for info in anomalies.drift_skew_info:
        feature = ".".join(info.path.step)
        for m in info.drift_measurements:
            out[feature] = (_MEASURES.get(m.type, "drift"), m.value, m.threshold)
    return out


def parse_accepted(text: str, schema: schema_pb2.Schema) -> List[str]:
    """``"a,b"`` -> ["a", "b"] (or ["all"]); raises ValueError naming an unknown feature."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    known = {f.name for f in schema.feature}
    unknown = [n for n in names if n != ACCEPT_ALL and n not in known]
    if unknown:
        raise ValueError(f"--accept-drift names no schema feature: {', '.join(unknown)}; "
                         f"features: {', '.join(sorted(known))}")
    return names


def drift_verdict(measured: Measurements, accepted: Sequence[str],
                  baseline: str) -> Tuple[List[str], List[str]]:
    """(lines that stop the day, lines of drift accepted by the operator), by feature."""
    stop, allowed = [], []
    for feature, (measure, value, threshold) in sorted(measured.items()):
        if value <= threshold:
            continue
        line = f"{feature}: {measure} {value:.4f} > {threshold:g} vs {baseline}"
        (allowed if ACCEPT_ALL in accepted or feature in accepted else stop).append(line)
    return stop, allowed


def check_drift(current_uri: str, previous_uri: Optional[str], schema: schema_pb2.Schema,
                accepted: Sequence[str], baseline: str) -> List[str]:
    """Raises DriftFoundError on drift not accepted; returns the accepted drift lines."""
    if previous_uri is None:
        return []
    measured = drift_measurements(load_statistics(current_uri), load_statistics(previous_uri),
                                  schema)
    stop, allowed = drift_verdict(measured, accepted, baseline)
    if stop:
        raise DriftFoundError("the day drifted from the last accepted day beyond the schema's "
                              "thresholds (accept a known shift with --accept-drift FEATURE)",
                              stop)
    return allowed


def _span(artifact) -> int:
    return (artifact.get_int_custom_property(SPAN_PROPERTY)
            if artifact.has_custom_property(SPAN_PROPERTY) else -1)


@tfx.dsl.components.component
def DriftGate(  # noqa: N802 (TFX component style)
        examples: tfx.dsl.components.InputArtifact[standard_artifacts.Examples],
        statistics: tfx.dsl.components.InputArtifact[standard_artifacts.ExampleStatistics],
        schema: tfx.dsl.components.InputArtifact[standard_artifacts.Schema],
        accepted: tfx.dsl.components.OutputArtifact[AcceptedStatistics],
        previous: tfx.dsl.components.InputArtifact[AcceptedStatistics] = None,
        accept_drift: tfx.dsl.components.Parameter[str] = "") -> None:
    """Compares ``statistics`` with ``previous`` (see module docstring); publishes
    ``accepted`` (the day's statistics and span) when the day passes."""
    schema_proto = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(schema.uri))
    names = parse_accepted(accept_drift, schema_proto)
    baseline = ("" if previous is None else
                f"accepted day {previous.get_string_custom_property('day')}")
    for line in check_drift(statistics.uri, None if previous is None else previous.uri,
                            schema_proto, names, baseline):
        logging.warning("DriftGate: accepted drift: %s", line)
        print(f"accepted drift (--accept-drift): {line}", flush=True)
    shutil.copytree(statistics.uri, accepted.uri, dirs_exist_ok=True)
    accepted.set_int_custom_property(SPAN_PROPERTY, _span(examples))
    accepted.set_string_custom_property("day", _day(_span(examples)))


def _day(span: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=span)).isoformat() if span >= 0 else "?"
