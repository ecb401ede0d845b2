"""A day not pushed says why, one line per missed threshold; exit statuses for schedulers."""

import pytest

tfma = pytest.importorskip("tensorflow_model_analysis")

from tensorflow_model_analysis.proto import validation_result_pb2  # noqa: E402

from lt4rec.pipeline import status  # noqa: E402
from lt4rec.pipeline.decisions import Decision, day_of_span, validation_reasons  # noqa: E402
from lt4rec.pipeline.eval_config import BlessingConfig, eval_config  # noqa: E402


def _failure(result, output, metric, value, threshold, is_diff=False):
    failure = result.metric_validations_per_slice.add().failures.add()
    failure.metric_key.name = metric
    failure.metric_key.output_name = output
    failure.metric_key.is_diff = is_diff
    failure.metric_value.double_value.value = value
    failure.metric_threshold.CopyFrom(threshold)


def _threshold(config, output):
    spec = next(s for s in config.metrics_specs if s.output_names == [output])
    return next(m.threshold for m in spec.metrics if m.HasField("threshold"))


def test_each_missed_threshold_is_one_line_with_value_bound_and_baseline():
    config = eval_config(BlessingConfig(min_ctr_auc=0.6, max_cvr_mse_rise=0.005))
    result = validation_result_pb2.ValidationResult(validation_ok=False)
    _failure(result, "pctr", "auc", 0.5312, _threshold(config, "pctr"))
    _failure(result, "pcvr", "mean_squared_error", 0.0071, _threshold(config, "pcvr"),
             is_diff=True)
    lines = validation_reasons(result, "model of 2026-11-02 (serving version 17)")
    assert lines == [
        "pctr auc = 0.5312, needs >= 0.6",
        "pcvr mean_squared_error change vs model of 2026-11-02 (serving version 17) = +0.0071,"
        " needs <= +0.005"]


def test_a_failed_validation_without_failures_still_gives_a_reason():
    lines = validation_reasons(validation_result_pb2.ValidationResult(validation_ok=False))
    assert len(lines) == 1 and "TFMA validation failed" in lines[0]


def test_exit_statuses_are_distinct_and_the_worst_day_decides():
    assert Decision(True, 17).exit_status == status.EXIT_PUSHED == 0
    assert Decision(False, reasons=["x"]).exit_status == status.EXIT_NOT_BLESSED == 3
    assert Decision(False, stopped=True).exit_status == status.EXIT_STOPPED == 4
    assert status.worst([0, 3, 0]) == 3 and status.worst([3, 4]) == 4 and status.worst([]) == 0
    assert len({status.EXIT_PUSHED, status.EXIT_FAILED, status.EXIT_USAGE,
                status.EXIT_NOT_BLESSED, status.EXIT_STOPPED}) == 5
    assert day_of_span(20760) == "2026-11-03"


def _cli_run(monkeypatch, tmp_path, decisions, capsys):
    """`lt4rec pipeline run --days N` with run_day answering ``decisions`` in turn."""
    import datetime as dt
    from lt4rec import cli
    from lt4rec.pipeline import local_runner
    days = [dt.date(2026, 11, d) for d in range(1, len(decisions) + 1)]
    answers = iter(decisions)
    monkeypatch.setattr(local_runner, "log_days", lambda data: days)
    monkeypatch.setattr(local_runner, "run_day", lambda data, root, day, *a, **k:
                        local_runner.DayRun(day.isoformat(), 1.0, {}, ["7"], next(answers)))
    code = cli.main(["pipeline", "run", "--data", str(tmp_path), "--root", str(tmp_path / "r"),
                     "--days", str(len(decisions))])
    return code, capsys.readouterr().out


def test_the_cli_names_each_reason_and_exits_3_without_a_pushed_models_line(
        monkeypatch, tmp_path, capsys):
    code, out = _cli_run(monkeypatch, tmp_path, [Decision(True, 7), Decision(
        False, reasons=["pctr auc = 0.5312, needs >= 0.55"])], capsys)
    assert code == 3
    assert "2026-11-02: NOT PUSHED (model not blessed)" in out
    assert "  - pctr auc = 0.5312, needs >= 0.55" in out
    assert out.count("pushed models:") == 1 and "pctr/7/" in out      # day 1's push only


def test_a_stopped_day_exits_4_and_no_later_day_runs(monkeypatch, tmp_path, capsys):
    stopped = Decision(False, reasons=["the day drifted", "source_page: L-infinity ..."],
                       stopped=True)
    code, out = _cli_run(monkeypatch, tmp_path, [stopped, Decision(True, 8)], capsys)
    assert code == 4 and "2026-11-01: STOPPED" in out and "2026-11-02" not in out
    assert "pushed models:" not in out
