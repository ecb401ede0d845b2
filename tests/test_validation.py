"""Validation: each anomaly class is caught on hand-made bad files, and no row is lost."""

import csv
import os
import random
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lt4rec.schemas import contract, logs
from lt4rec.schemas.contract import DType, Group, Kind
from lt4rec.schemas.values import list_format_ok, list_pattern
from lt4rec.serving import rank_request
from lt4rec.serving.errors import InvalidRequest
from lt4rec.schemas.validation import rules, validate_logs
from lt4rec.schemas import names

COLS = list(names.LOG_COLUMNS)
DAY = "2026-11-01"
# A valid row of 2026-11-01 (a Sunday) at 10:00 UTC; impression_id is filled in per row.
GOOD = {names.IMPRESSION_ID: "1", names.TIMESTAMP: "1793527200", names.USER_ID: "7",
        names.USER_AGE_BUCKET: "25-34", names.USER_GENDER: "female",
        names.USER_RECENT_CLICKS: "3|9", names.ITEM_ID: "42", names.ITEM_CATEGORY: "2",
        names.ITEM_TAGS: "11|12", names.VIDEO_LENGTH_S: "60.0", names.DAY_OF_WEEK: "6",
        names.HOUR_OF_DAY: "10", names.SOURCE_PAGE: "home_feed", names.CLICK: "1",
        names.WATCH_TIME_S: "30.5"}

# (edit to a good row, expected (anomaly class, column))
BAD_ROWS = [
    ({names.CLICK: "2"}, (rules.OUT_OF_RANGE, names.CLICK)),
    ({names.CLICK: "yes"}, (rules.WRONG_TYPE, names.CLICK)),
    ({names.WATCH_TIME_S: "-3.0"}, (rules.OUT_OF_RANGE, names.WATCH_TIME_S)),
    ({names.CLICK: "0", names.WATCH_TIME_S: "12.0"},
     (rules.WATCH_TIME_ON_NON_CLICK, names.WATCH_TIME_S)),
    ({names.VIDEO_LENGTH_S: "0"}, (rules.NOT_POSITIVE, names.VIDEO_LENGTH_S)),
    ({names.VIDEO_LENGTH_S: "-5"}, (rules.OUT_OF_RANGE, names.VIDEO_LENGTH_S)),
    ({names.USER_ID: "abc"}, (rules.WRONG_TYPE, names.USER_ID)),
    ({names.ITEM_ID: "4.5"}, (rules.WRONG_TYPE, names.ITEM_ID)),
    ({names.WATCH_TIME_S: "nan"}, (rules.WRONG_TYPE, names.WATCH_TIME_S)),
    ({names.ITEM_TAGS: "11,12"}, (rules.WRONG_TYPE, names.ITEM_TAGS)),
    ({names.USER_GENDER: "x"}, (rules.OUT_OF_DOMAIN, names.USER_GENDER)),
    ({names.SOURCE_PAGE: ""}, (rules.MISSING_VALUE, names.SOURCE_PAGE)),
    ({names.HOUR_OF_DAY: "25"}, (rules.OUT_OF_RANGE, names.HOUR_OF_DAY)),
    ({names.HOUR_OF_DAY: "11"}, (rules.TIME_FIELDS_MISMATCH, names.HOUR_OF_DAY)),
    ({names.TIMESTAMP: "1793613600", names.DAY_OF_WEEK: "0"},
     (rules.TIMESTAMP_OUTSIDE_DAY, names.TIMESTAMP)),
]


def _row(i, **edits):
    row = dict(GOOD, **{names.IMPRESSION_ID: str(1000 + i)})
    row.update(edits)
    return [row[c] for c in COLS]


def _write(path, header, rows, extra_lines=()):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
        for line in extra_lines:
            fh.write(line)


def _count(result, code, column=None):
    return sum(a.rows for a in result.anomalies
               if a.code == code and (column is None or a.column == column))


def _quarantined(result):
    with open(result.quarantine_path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_clean_simulated_logs_pass_with_tfdv(small_logs, tmp_path):
    result = validate_logs(str(small_logs), report_dir=str(tmp_path / "report"))
    assert result.ok, result.anomalies + result.tfdv_anomalies
    assert result.rows_read == result.rows_accepted == 10000 and result.rows_rejected == 0
    assert os.path.exists(tmp_path / "report" / "report.json")
    assert os.path.exists(tmp_path / "report" / "statistics.pbtxt")


def test_each_bad_row_is_caught_and_quarantined(tmp_path):
    good = [_row(i) for i in range(20)]
    bad = [_row(100 + i, **edit) for i, (edit, _) in enumerate(BAD_ROWS)]
    path = str(tmp_path / "logs" / DAY / "impressions.csv")
    _write(path, COLS, good + bad)
    result = validate_logs(str(tmp_path / "logs"), report_dir=str(tmp_path / "r"), use_tfdv=False)
    for edit, (code, column) in BAD_ROWS:
        assert _count(result, code, column) >= 1, (edit, code, column)
    assert result.rows_read == 20 + len(BAD_ROWS)
    assert result.rows_accepted == 20 and result.rows_rejected == len(BAD_ROWS)
    quarantined = _quarantined(result)
    assert len(quarantined) == len(BAD_ROWS)
    for (edit, (code, _)), q in zip(BAD_ROWS, quarantined):
        assert code in q["reasons"].split(";") and q["file"] == path and q["raw"]


def test_unparseable_lines_and_bad_bytes_are_rejected_not_dropped(tmp_path):
    path = str(tmp_path / DAY / "impressions.csv")
    _write(path, COLS, [_row(i) for i in range(5)], extra_lines=["1,2,3\n", "\n"])
    with open(path, "ab") as fh:
        fh.write(b",".join(c.encode() for c in _row(9)[:-1]) + b",\xff\xfe\n")
    result = validate_logs(str(tmp_path / DAY), report_dir=str(tmp_path / "r"), use_tfdv=False)
    assert result.rows_read == 8 and result.rows_accepted == 5 and result.rows_rejected == 3
    assert _count(result, rules.UNPARSEABLE_LINE) == 3
    lines = sorted(int(q["line"]) for q in _quarantined(result))
    assert lines == [7, 8, 9]


@pytest.mark.parametrize("header,code,column", [
    ([c for c in COLS if c != names.WATCH_TIME_S], rules.MISSING_COLUMN, names.WATCH_TIME_S),
    (COLS + ["coupon"], rules.EXTRA_COLUMN, "coupon"),
    (COLS[1:] + COLS[:1], rules.COLUMN_ORDER, None),
])
def test_header_problems_reject_the_whole_file(tmp_path, header, code, column):
    rows = [[dict(zip(COLS, _row(i))).get(c, "1") for c in header] for i in range(4)]
    _write(str(tmp_path / DAY / "impressions.csv"), header, rows)
    result = validate_logs(str(tmp_path), report_dir=str(tmp_path / "r"), use_tfdv=False)
    assert _count(result, code, column) == 1
    assert result.rows_read == 4 and result.rows_rejected == 4 and result.rows_accepted == 0
    assert len(_quarantined(result)) == 4


def test_duplicate_ids_across_days_keep_the_first(tmp_path):
    _write(str(tmp_path / DAY / "impressions.csv"), COLS, [_row(1), _row(2)])
    nxt = dict(zip(COLS, _row(2)), **{names.TIMESTAMP: "1793613600", names.DAY_OF_WEEK: "0"})
    _write(str(tmp_path / "2026-11-02" / "impressions.csv"), COLS, [[nxt[c] for c in COLS]])
    result = validate_logs(str(tmp_path), report_dir=str(tmp_path / "r"), use_tfdv=False)
    assert _count(result, rules.DUPLICATE_IMPRESSION_ID) == 1
    assert result.rows_accepted == 2 and result.rows_rejected == 1
    assert "2026-11-01" in result.anomalies[0].examples[0]["detail"]


def test_empty_file_is_an_anomaly(tmp_path):
    os.makedirs(tmp_path / DAY)
    (tmp_path / DAY / "impressions.csv").write_text("")
    result = validate_logs(str(tmp_path), report_dir=None, use_tfdv=False)
    assert _count(result, rules.EMPTY_FILE) == 1 and not result.ok


def test_header_only_file_is_an_empty_file(tmp_path):
    _write(str(tmp_path / DAY / "impressions.csv"), COLS, [])
    result = validate_logs(str(tmp_path), report_dir=None, use_tfdv=False)
    assert _count(result, rules.EMPTY_FILE) == 1 and not result.ok
    assert result.rows_read == 0 and "header only" in result.anomalies[0].examples[0]["detail"]


def test_no_logs_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="YYYY-MM-DD"):
        validate_logs(str(tmp_path))


def test_cli_passes_clean_logs_and_fails_naming_each_appended_anomaly(small_logs, tmp_path):
    data = tmp_path / "logs"
    shutil.copytree(small_logs, data)
    cmd = [sys.executable, "-m", "lt4rec.cli", "validate", "--data", str(data), "--no-tfdv"]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "no anomalies" in ok.stdout
    with open(data / DAY / logs.LOG_FILE_NAME, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(_row(500 + i, **edit) for i, (edit, _) in enumerate(BAD_ROWS))
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode == 1
    for _, (code, column) in BAD_ROWS:
        assert f"ANOMALY {code} [{column}]" in bad.stdout
    assert f"rejected {len(BAD_ROWS)}" in bad.stdout


# -- one set of value rules for logs and ranking requests ---------------------------------------

def _cases(feature):
    """CSV texts for one column: good and bad per the contract (bounds, vocabulary, list form,
    type, float32 edges, empty)."""
    if feature.kind is Kind.LIST:
        return ["3|9", "3", "", "3,9", "a|b", "3|", "|3", "3||9", "-3|+4", "3|9\n4"]
    if feature.dtype is DType.STRING:
        return list(feature.vocabulary) + ["nowhere", "", feature.vocabulary[0].upper() + "x"]
    if feature.dtype is DType.FLOAT:
        return ["60.0", "30", "0", "-5", "1e-50", "1e39", "nan", "inf", "abc", ""]
    lo, hi = feature.min_value, feature.max_value
    out = ["+7", "4.5", "abc", "", str(2 ** 63), str(-2 ** 63)]
    out += [str(int(lo)), str(int(lo) - 1)] if lo is not None else ["-5"]
    out += [str(int(hi)), str(int(hi) + 1)] if hi is not None else ["123456789012"]
    return out


def _request_with(feature, text):
    """A rank request (one candidate) whose column ``feature`` holds ``text``, sent in the
    contract's field type when it parses as that type (numbers), else as the text."""
    known = rank_request.serving_features()
    good = {n: GOOD[n] for n in known}
    typed = {n: (int(v) if known[n].dtype is DType.INT else float(v)
                 if known[n].dtype is DType.FLOAT else v) for n, v in good.items()}
    item = {n: v for n, v in typed.items() if known[n].group is Group.ITEM}
    request = rank_request.request_from_json(
        {"context": {n: v for n, v in typed.items() if n not in item},
         "candidates": [{"id": "1", "features": item}]})
    target = (request.candidates.columns if feature.group is Group.ITEM
              else request.context.features).feature
    del target[feature.name]
    if text == "" and feature.dtype is not DType.STRING:
        return request  # an empty number is an absent one
    field = target[feature.name]
    try:
        if feature.dtype is DType.INT:
            field.int64_list.value.append(int(text))
        elif feature.dtype is DType.FLOAT:
            field.float_list.value.append(float(text))
        else:
            field.bytes_list.value.append(text.encode())
    except ValueError:
        try:
            field.float_list.value.append(float(text))
        except ValueError:
            field.bytes_list.value.append(text.encode())
    return request


def _accepted_by_request(feature, text):
    try:
        rank_request.check_request(_request_with(feature, text), max_candidates=10)
        return True
    except InvalidRequest:
        return False


def _accepted_by_logs(feature, text):
    row = dict(GOOD, **{feature.name: text})
    _, violations = rules.check_rows(contract.load(), {c: np.array([row[c]], dtype=object)
                                                       for c in COLS}, day=None)
    value_rules = {rules.MISSING_VALUE, rules.WRONG_TYPE, rules.OUT_OF_DOMAIN, rules.OUT_OF_RANGE,
                   rules.NOT_POSITIVE}  # cross-column rules need a timestamp, not in requests
    return not any(v.mask[0] for v in violations
                   if v.column == feature.name and v.code in value_rules)


def test_every_serving_column_is_accepted_by_requests_and_logs_alike():
    verdicts = {}
    for feature in rank_request.serving_features().values():
        for text in _cases(feature):
            log, request = _accepted_by_logs(feature, text), _accepted_by_request(feature, text)
            assert log == request, (feature.name, text, "logs", log, "request", request)
            verdicts.setdefault(feature.name, set()).add(log)
    # every column saw both a good and a bad value
    assert all(v == {True, False} for v in verdicts.values()), verdicts
    assert not _accepted_by_request(rank_request.serving_features()[names.SOURCE_PAGE], "nowhere")


def test_list_columns_checked_joined_agree_with_field_by_field():
    """The one-scan check of a whole list column gives each field the verdict of the field's
    own pattern (random fields over digits, signs, separators, newlines and junk)."""
    feature = contract.load()[names.ITEM_TAGS]
    pattern = re.compile(list_pattern(feature))
    rng = random.Random(0)
    for alphabet in ("0123|\n", "0123+-|a,\n "):
        for _ in range(3000):
            raw = np.array(["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
                            for _ in range(rng.randint(1, 3))], dtype=object)
            expected = [x == "" or pattern.fullmatch(x) is not None for x in raw]
            assert list_format_ok(feature, raw).tolist() == expected, list(raw)
