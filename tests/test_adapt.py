"""`lt4rec adapt`: a mapping file maps a public dataset onto the log contract, every row counted."""

import json
import os

import pandas as pd
import pytest

from lt4rec.adapt.adapter import ADAPT_DIR, QUARANTINE_FILE, adapt
from lt4rec.adapt.mapping import MappingError, load_mapping, parse_mapping
from lt4rec.schemas import names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "data", "kuairand", "kuairand_sample.csv")
SAMPLE_MAPPING = os.path.join(ROOT, "schemas", "mappings", "kuairand_random_sample.json")
LIKEHATE_MAPPING = os.path.join(ROOT, "schemas", "mappings", "kuairand_likehate.json")


def _day(out, day):
    return pd.read_csv(os.path.join(out, day, "impressions.csv"), keep_default_na=False)


def test_kuairand_fixture_is_mapped_with_exact_accounting(tmp_path):
    report = adapt(FIXTURE, load_mapping(SAMPLE_MAPPING), str(tmp_path))
    # 200 rows, 18 with duration_ms = 0 (counted by hand in the fixture).
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (200, 182, 18)
    assert report["rejected_by_reason"] == {"non_positive_duration": {
        "rows": 18, "why": "video_length_s must be > 0: the watch ratio play_time/duration is "
                           "undefined"}}
    assert report["days"] == {"2022-04-08": 182}
    assert report["not_clicked_watch_time"]["rows"] == 151
    assert report["replays_ratio_ge_1"]["rows"] == 5
    quarantine = pd.read_csv(os.path.join(tmp_path, ADAPT_DIR, QUARANTINE_FILE))
    assert len(quarantine) == 18 and list(quarantine["source_line"][:3]) == [51, 52, 53]
    assert set(quarantine["reasons"]) == {"non_positive_duration"}
    logs = _day(tmp_path, "2022-04-08")
    first = logs.iloc[0]  # source row 1: user 0, video 5543, 863 ms preview on a non-click
    assert (first[names.USER_ID], first[names.ITEM_ID]) == (0, 5543)
    assert first[names.VIDEO_LENGTH_S] == pytest.approx(30.066)
    assert (first[names.CLICK], first[names.WATCH_TIME_S]) == (0, 0.0)
    assert (first[names.DAY_OF_WEEK], first[names.HOUR_OF_DAY]) == (4, 12)  # a Friday, noon UTC
    assert (logs.loc[logs[names.CLICK] == 0, names.WATCH_TIME_S] == 0).all()
    assert "CC BY-SA 4.0" in open(os.path.join(tmp_path, ADAPT_DIR, "ATTRIBUTION.txt")).read()


def _source(tmp_path, rows):
    header = ["user_id", "video_id", "time_ms", "is_click", "play_time_ms", "duration_ms"]
    path = tmp_path / "log.tsv"
    path.write_text("\n".join("\t".join(map(str, r)) for r in [header] + rows) + "\n")
    return str(path)


def test_likehate_mapping_derives_utc_days_recent_clicks_and_rejects_duplicates(tmp_path):
    src = _source(tmp_path, [
        # user, video, time (ms, UTC), click, play ms, duration ms
        [7, 10, 1649375999000, 1, 5000, 10000],   # 2022-04-07 23:59:59 UTC
        [7, 11, 1649376000000, 1, 30000, 10000],  # 2022-04-08 00:00:00, a replay (ratio 3)
        [7, 12, 1649379600000, 0, 900, 20000],    # 01:00, autoplay preview on a non-click
        [7, 12, 1649379600000, 0, 900, 20000],    # the same impression again
        [8, 13, 1649379600000, 1, 1000, 0],       # zero duration
    ])
    out = tmp_path / "out"
    mapping = load_mapping(LIKEHATE_MAPPING)
    report = adapt(src, mapping, str(out))
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (5, 3, 2)
    assert {r: v["rows"] for r, v in report["rejected_by_reason"].items()} == {
        "duplicate_impression": 1, "non_positive_duration": 1}
    assert report["days"] == {"2022-04-07": 1, "2022-04-08": 2}
    day2 = _day(out, "2022-04-08")
    assert list(day2[names.USER_RECENT_CLICKS]) == ["10", "11|10"]  # newest first, strictly before
    assert list(day2[names.HOUR_OF_DAY]) == [0, 1]
    assert list(day2[names.WATCH_TIME_S]) == [30.0, 0.0]  # replay kept, preview zeroed
    assert report["replays_ratio_ge_1"]["rows"] == 1
    assert report["not_clicked_watch_time"]["rows"] == 1


def test_reject_policy_for_watch_time_on_non_clicks(tmp_path):
    src = _source(tmp_path, [[7, 12, 1649379600000, 0, 900, 20000],
                             [7, 13, 1649379601000, 1, 900, 20000]])
    data = json.load(open(LIKEHATE_MAPPING))
    data["not_clicked_watch_time"] = "reject"
    report = adapt(src, parse_mapping(data, "edited.json"), str(tmp_path / "out"))
    assert report["rows_accepted"] == 1
    assert report["rejected_by_reason"]["watch_time_on_non_click"]["rows"] == 1


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["columns"].pop(names.CLICK), "no rule for contract column(s) ['click']"),
    (lambda m: m["columns"].update(colour={"constant": 1}), "['colour'] are not contract columns"),
    (lambda m: m["reject"][0].update(op="=<"), "reject[0]: unknown op '=<'"),
    (lambda m: m["columns"][names.HOUR_OF_DAY].update(derive="minute"),
     "columns.hour_of_day: unknown derivation 'minute'"),
    (lambda m: m["columns"][names.CLICK].update(constant=1),
     "columns.click: needs exactly one of"),
])
def test_broken_mapping_gets_a_clear_error(tmp_path, edit, message):
    data = json.load(open(LIKEHATE_MAPPING))
    edit(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(MappingError) as err:
        load_mapping(str(path))
    assert str(path) in str(err.value) and message in str(err.value)


def test_mapping_that_reads_a_missing_source_column_names_it(tmp_path):
    src = tmp_path / "log.tsv"
    src.write_text("user_id\tvideo_id\n1\t2\n")
    with pytest.raises(MappingError, match=r"lacks column\(s\) \['duration_ms', 'is_click'"):
        adapt(str(src), load_mapping(LIKEHATE_MAPPING), str(tmp_path / "out"))


def test_mapping_whose_constant_breaks_the_contract_fails_validation(tmp_path):
    data = json.load(open(SAMPLE_MAPPING))
    data["columns"][names.USER_GENDER] = {"constant": "robot"}
    with pytest.raises(ValueError, match="break the contract"):
        adapt(FIXTURE, parse_mapping(data, "bad.json"), str(tmp_path / "out"))


def test_invalid_json_is_named(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("{not json")
    with pytest.raises(MappingError, match="not valid JSON"):
        load_mapping(str(path))
