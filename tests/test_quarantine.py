"""The quarantine CSV and its per-reason counts."""

import csv

from lt4rec.schemas.validation.quarantine import Quarantine


def test_every_rejected_row_is_written_and_counted_per_reason(tmp_path):
    path = tmp_path / "q" / "quarantine.csv"
    with Quarantine(str(path), ("file", "line"), with_details=True) as q:
        q.reject(("a.csv", 3), ["bad_click", "bad_hour"], "1,2,x", ["click: 2", "hour: 25"])
        q.reject(("a.csv", 7), ["bad_click"], "1,5,y", ["click: 5"])
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows == [["file", "line", "reasons", "details", "raw"],
                    ["a.csv", "3", "bad_click;bad_hour", "click: 2; hour: 25", "1,2,x"],
                    ["a.csv", "7", "bad_click", "click: 5", "1,5,y"]]
    assert q.rows == 2 and q.by_reason == {"bad_click": 2, "bad_hour": 1}


def test_without_a_path_it_only_counts(tmp_path):
    q = Quarantine(None, ("source_line",))
    q.reject((2,), ["duplicate"], "x\ty")
    q.close()
    assert q.rows == 1 and q.by_reason == {"duplicate": 1} and not list(tmp_path.iterdir())
