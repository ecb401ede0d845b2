"""TFMA configuration of the pipeline's Evaluator: what blesses a day's model.

The combined SavedModel's ``serving_default`` returns ``pctr``, ``pcvr`` (and ``pctcvr``).
CTR AUC is computed over every impression (label ``click``); CVR MSE over clicked impressions
only, as ``watch_ratio`` MSE weighted by ``click`` (the derived label ExampleGen writes).
Blessing needs both absolute floors and no regression beyond a tolerance against the last
blessed model (TFMA skips the change thresholds on the first run, when there is none).
"""

import tensorflow_model_analysis as tfma

from lt4rec.models.signatures import DEFAULT_SIGNATURE
from lt4rec.models.tasks import CTR, CVR, OUTPUT_NAMES
from lt4rec.pipeline.config import BlessingConfig  # noqa: F401 (re-exported)
from lt4rec.schemas import names


def eval_config(thresholds: BlessingConfig = BlessingConfig()) -> tfma.EvalConfig:
    """The EvalConfig for the combined model (see module docstring)."""
    pctr, pcvr = OUTPUT_NAMES[CTR], OUTPUT_NAMES[CVR]
    auc = tfma.MetricConfig(class_name="AUC", threshold=tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": thresholds.min_ctr_auc}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -thresholds.max_ctr_auc_drop})))
    mse = tfma.MetricConfig(class_name="MeanSquaredError", threshold=tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(upper_bound={"value": thresholds.max_cvr_mse}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.LOWER_IS_BETTER,
            absolute={"value": thresholds.max_cvr_mse_rise})))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(
            signature_name=DEFAULT_SIGNATURE,
            label_keys={pctr: names.CLICK, pcvr: names.WATCH_RATIO},
            prediction_keys={pctr: pctr, pcvr: pcvr},
            example_weight_keys={pcvr: names.CLICK})],
        metrics_specs=[
            tfma.MetricsSpec(output_names=[pctr], metrics=[
                tfma.MetricConfig(class_name="ExampleCount"), auc]),
            tfma.MetricsSpec(output_names=[pcvr], metrics=[mse])],
        slicing_specs=[tfma.SlicingSpec()])
