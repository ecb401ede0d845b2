"""Why a pipeline day was, or was not, pushed; and the exit status that tells a scheduler.

After a local run, the day's decision is read back from ML Metadata and the Evaluator's own
output, never guessed from folder listings: the Model trained for the day's span, the
Evaluator execution that judged it (its ``blessing``, its ``evaluation`` with TFMA's
ValidationResult, its ``baseline_model``), and the DualPusher execution that read it (its
``pushed_model`` with the version). A day stopped by a gate (anomalies, drift) carries the
gate's reasons instead.

``Decision.exit_status`` maps a day onto the exit statuses of ``status.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import List, Optional

import tensorflow_model_analysis as tfma

from lt4rec.pipeline.lineage import Lineage, int_property
from lt4rec.pipeline.status import EXIT_NOT_BLESSED, EXIT_PUSHED, EXIT_STOPPED

_EPOCH = dt.date(1970, 1, 1)


@dataclasses.dataclass
class Decision:
    """What happened to a day's model: pushed (with version), or why not."""
    pushed: bool
    version: Optional[int] = None
    reasons: List[str] = dataclasses.field(default_factory=list)
    stopped: bool = False  # a gate stopped the day before training

    @property
    def exit_status(self) -> int:
        if self.stopped:
            return EXIT_STOPPED
        return EXIT_PUSHED if self.pushed else EXIT_NOT_BLESSED


def day_of_span(span: Optional[int]) -> str:
    return "?" if span is None else (_EPOCH + dt.timedelta(days=span)).isoformat()


def _bounds(threshold, is_diff: bool) -> str:
    """The threshold a failure broke, e.g. ``>= 0.55`` or ``change >= -0.01``."""
    part = threshold.change_threshold if is_diff else threshold.value_threshold
    prefix = "change " if is_diff else ""
    if is_diff:
        absolute = part.absolute.value if part.HasField("absolute") else None
        relative = part.relative.value if part.HasField("relative") else None
        higher = part.direction == tfma.MetricDirection.HIGHER_IS_BETTER
        sign = ">=" if higher else "<="
        texts = [f"{prefix}{sign} {absolute:+.4g}"] if absolute is not None else []
        texts += [f"relative change {sign} {relative:+.4g}"] if relative is not None else []
        return " and ".join(texts) or str(part).strip()
    texts = [f">= {part.lower_bound.value:.4g}"] if part.HasField("lower_bound") else []
    texts += [f"<= {part.upper_bound.value:.4g}"] if part.HasField("upper_bound") else []
    return " and ".join(texts) or str(part).strip()


def validation_reasons(result, baseline: str = "") -> List[str]:
    """One line per failed threshold of a TFMA ValidationResult.

    Args:
      result: ``tfma.load_validation_result(evaluation_uri)``.
      baseline: how to name the baseline model in change thresholds.

    Returns:
      e.g. ``pctr AUC = 0.5312, needs >= 0.55`` or ``pcvr MeanSquaredError change vs
      baseline model of 2026-11-02 (serving version 17...) = +0.0071, needs <= +0.005``.
    """
    lines = []
    for per_slice in result.metric_validations_per_slice:
        for failure in per_slice.failures:
            key = failure.metric_key
            name = f"{key.output_name} {key.name}".strip()
            value = failure.metric_value.double_value.value
            if key.is_diff:
                lines.append(f"{name} change vs {baseline or 'baseline model'} = {value:+.4f}, "
                             f"needs {_bounds(failure.metric_threshold, True)[len('change '):]}")
            else:
                lines.append(f"{name} = {value:.4f}, needs "
                             f"{_bounds(failure.metric_threshold, False)}")
    if result.missing_thresholds:
        lines.append(f"no value for {len(result.missing_thresholds)} thresholded metric(s)")
    if not lines and not result.validation_ok:
        lines.append("TFMA validation failed (missing slices or rubber stamp): "
                     + str(result).replace("\n", " ")[:200])
    return lines


def _baseline_label(lineage: Lineage, evaluator_execution_id: int) -> str:
    """``model of 2026-11-02 (serving version 17...)``, or "" without a baseline."""
    base = lineage.input(evaluator_execution_id, "baseline_model")
    if base is None:
        return ""
    label = f"model of {day_of_span(lineage.span(base.id))}"
    for push in lineage.executions_consuming(base.id, "DualPusher"):
        pushed = lineage.output(push.id, "pushed_model")
        if pushed is not None and int_property(pushed, "pushed"):
            label += f" (serving version {int_property(pushed, 'pushed_version')})"
    return label


def decide(lineage: Lineage, span: int) -> Decision:
    """The decision on the newest model trained for ``span``."""
    models = [m for m in lineage.of_type("Model") if lineage.span(m.id) == span]
    if not models:
        return Decision(False, reasons=[f"no model was trained for {day_of_span(span)}"])
    model = models[-1]
    evaluations = lineage.executions_consuming(model.id, "Evaluator")
    if not evaluations:
        return Decision(False, reasons=["the model was not evaluated"])
    evaluator = evaluations[-1]
    blessing = lineage.output(evaluator.id, "blessing")
    pushes = ([] if blessing is None else
              [lineage.output(e.id, "pushed_model")
               for e in lineage.executions_consuming(blessing.id, "DualPusher")])
    pushed = next((p for p in reversed(pushes) if p is not None and int_property(p, "pushed")),
                  None)
    if pushed is not None:
        return Decision(True, int_property(pushed, "pushed_version"))
    evaluation = lineage.output(evaluator.id, "evaluation")
    if evaluation is None:
        return Decision(False, reasons=["the Evaluator wrote no evaluation"])
    result = tfma.load_validation_result(evaluation.uri)
    reasons = validation_reasons(result, _baseline_label(lineage, evaluator.id))
    return Decision(False, reasons=reasons or ["the model was blessed but not pushed"])
