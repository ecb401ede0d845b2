"""Wiring of the day-over-day drift gate: the previous accepted day's statistics -> DriftGate.

``components/drift_gate.py`` does the comparison; this module picks its baseline. With a fixed
span (local daily runs, backfills) the baseline is the newest ``AcceptedStatistics`` of an
*earlier* span, so a re-run of a day compares with the same day as the first time; without one
(scheduled runs, Kubeflow v2, which compiles only TFX's own strategies) the plain latest.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from tfx import v1 as tfx

from lt4rec.components.artifacts import AcceptedStatistics
from lt4rec.components.drift_gate import DriftGate
from lt4rec.components.resolvers import LatestArtifactBeforeSpan


def drift_gate_components(example_gen, statistics_gen, schema_gen, anomaly_gate,
                          span: Optional[int], accept_drift: Sequence[str] = ()
                          ) -> Tuple[List, object]:
    """(the resolver and the gate to add to the pipeline, the gate to put Transform after).

    Args:
      example_gen, statistics_gen, schema_gen: the day's Examples, statistics and schema.
      anomaly_gate: runs first; a day with anomalies never becomes a drift baseline.
      span: the day's span, or None for the latest.
      accept_drift: feature names (or ``all``) whose drift the operator accepts this run.
    """
    strategy, config = ((tfx.dsl.experimental.LatestArtifactStrategy, {}) if span is None else
                        (LatestArtifactBeforeSpan, {"before_span": span}))
    previous = tfx.dsl.Resolver(
        strategy_class=strategy, config=config,
        accepted=tfx.dsl.Channel(type=AcceptedStatistics)).with_id("accepted_statistics_resolver")
    gate = DriftGate(examples=example_gen.outputs["examples"],
                     statistics=statistics_gen.outputs["statistics"],
                     schema=schema_gen.outputs["schema"],
                     previous=previous.outputs["accepted"],
                     accept_drift=",".join(accept_drift))
    gate.add_upstream_node(anomaly_gate)
    return [previous, gate], gate
