"""The day-over-day drift gate on statistics protos: a moved day is stopped with the feature
named, an ordinary next day passes, and an operator's acceptance lets a known shift through."""

import pandas as pd
import pytest

from lt4rec.schemas import contract, labels, logs, names

tfdv = pytest.importorskip("tensorflow_data_validation")

from lt4rec.components.drift_gate import (  # noqa: E402
    DriftFoundError, check_drift, drift_measurements, drift_verdict, parse_accepted)


def _day(small_logs, day: str, edit=None):
    """Statistics of one simulated day (as ExampleGen writes it: with watch_ratio)."""
    frame = pd.read_csv(small_logs / day / logs.LOG_FILE_NAME)
    if edit is not None:
        edit(frame)
    frame[names.WATCH_RATIO] = labels.watch_ratio_column(
        frame[names.WATCH_TIME_S].to_numpy(), frame[names.VIDEO_LENGTH_S].to_numpy(),
        frame[names.CLICK].to_numpy())
    return tfdv.generate_statistics_from_dataframe(frame)


@pytest.fixture(scope="module")
def schema():
    return contract.load_schema_proto()


@pytest.fixture(scope="module")
def day1(small_logs):
    return _day(small_logs, "2026-11-01")


def _halve_watch_times(frame):           # a logging bug
    frame[names.WATCH_TIME_S] = frame[names.WATCH_TIME_S] / 2


def _new_surface_takes_a_third(frame):   # every third impression now logged as "search"
    frame.loc[frame.index % 3 == 0, names.SOURCE_PAGE] = "search"


def test_the_schema_declares_a_comparator_per_kind_of_feature():
    view = contract.load()
    assert view[names.SOURCE_PAGE].drift == ("infinity_norm", pytest.approx(0.1))
    assert view[names.WATCH_RATIO].drift == ("jensen_shannon_divergence", pytest.approx(0.02))
    assert view[names.DAY_OF_WEEK].drift is None       # changes every day by construction
    assert view[names.VIDEO_LENGTH_S].drift is None    # heavy tail: histogram-range noise


def test_an_ordinary_next_day_passes(small_logs, schema, day1):
    day2 = _day(small_logs, "2026-11-02")
    measured = drift_measurements(day2, day1, schema)
    assert {names.SOURCE_PAGE, names.WATCH_RATIO} <= set(measured)
    assert check_drift_protos(day2, day1, schema) == ([], [])


def check_drift_protos(current, previous, schema, accepted=()):
    return drift_verdict(drift_measurements(current, previous, schema), accepted, "day 1")


def test_halved_watch_times_stop_the_day_naming_watch_ratio(small_logs, schema, day1):
    moved = _day(small_logs, "2026-11-02", _halve_watch_times)
    stop, accepted = check_drift_protos(moved, day1, schema)
    assert [line.split(":")[0] for line in stop] == [names.WATCH_RATIO] and not accepted
    assert "Jensen-Shannon divergence" in stop[0] and "> 0.02 vs day 1" in stop[0]


def test_a_new_surface_stops_the_day_naming_source_page(small_logs, schema, day1):
    moved = _day(small_logs, "2026-11-02", _new_surface_takes_a_third)
    stop, _ = check_drift_protos(moved, day1, schema)
    assert [line.split(":")[0] for line in stop] == [names.SOURCE_PAGE]
    assert "L-infinity distance" in stop[0]


def test_accepting_the_feature_lets_the_shift_through_and_says_so(small_logs, schema, day1):
    moved = _day(small_logs, "2026-11-02", _new_surface_takes_a_third)
    stop, accepted = check_drift_protos(moved, day1, schema, [names.SOURCE_PAGE])
    assert stop == [] and accepted[0].startswith(names.SOURCE_PAGE)
    assert check_drift_protos(moved, day1, schema, ["all"])[0] == []
    assert check_drift_protos(moved, day1, schema, [names.WATCH_RATIO])[0]  # not that one


def test_check_drift_raises_with_one_reason_per_feature(tmp_path, small_logs, schema, day1):
    def write(stats, name):
        split = tmp_path / name / "Split-train"
        split.mkdir(parents=True)
        (split / "FeatureStats.pb").write_bytes(stats.SerializeToString())
        return str(tmp_path / name)

    def both(frame):
        _halve_watch_times(frame)
        _new_surface_takes_a_third(frame)

    current = write(_day(small_logs, "2026-11-02", both), "current")
    previous = write(day1, "previous")
    with pytest.raises(DriftFoundError) as err:
        check_drift(current, previous, schema, [], "accepted day 2026-11-01")
    assert [r.split(":")[0] for r in err.value.reasons] == [names.SOURCE_PAGE, names.WATCH_RATIO]
    assert "--accept-drift" in str(err.value)
    assert check_drift(current, None, schema, [], "") == []          # the first day passes


def test_accepting_an_unknown_feature_is_an_error_naming_it(schema):
    assert parse_accepted(" source_page, watch_ratio ", schema) == [names.SOURCE_PAGE,
                                                                     names.WATCH_RATIO]
    with pytest.raises(ValueError, match="surface_page"):
        parse_accepted("surface_page", schema)
