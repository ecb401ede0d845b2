"""Applies a mapping file to a source table: contract day folders, quarantine and accounting.

Every source row is accounted for: rows read = rows accepted + rows rejected. A row is rejected
(with every reason that applies) by the mapping's ``reject`` rules, by a value that does not
parse as the contract's type, by a value missing from a ``values`` lookup without a default, or
by watch time on a non-click when the mapping's policy is ``reject``. Accepted rows go to
``OUT/YYYY-MM-DD/impressions.csv`` (the UTC day of their contract timestamp, sorted by time);
rejected ones to ``OUT/_adapt/quarantine.csv`` (source line, reasons, raw row); the counts to
``OUT/_adapt/report.json``. The output is then checked with ``lt4rec.schemas.validation`` (the same
rules as ``lt4rec validate``) so the adapter cannot write what the trainer would refuse.
"""

from __future__ import annotations

import collections
import json
import os
from typing import Dict, List

import numpy as np

from lt4rec.schemas import logs
from lt4rec.adapt.mapping import Mapping, MappingError
from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas import names, timefields
from lt4rec.schemas.validation import format_report, validate_logs
from lt4rec.schemas.validation.quarantine import Quarantine

ADAPT_DIR = "_adapt"
REPORT_FILE = "report.json"
QUARANTINE_FILE = "quarantine.csv"
ATTRIBUTION_FILE = "ATTRIBUTION.txt"
_OPS = {"<=": np.less_equal, "<": np.less, "==": np.equal, "!=": np.not_equal,
        ">": np.greater, ">=": np.greater_equal}


def read_source(path: str, delimiter: str):
    """The source table as strings (a pandas DataFrame); no value is parsed or dropped here."""
    import pandas as pd
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such source file: {path}")
    try:
        return pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as err:
        raise ValueError(f"{path}: cannot be read as a {delimiter!r}-delimited table: "
                         f"{err}") from None


class _Rejections:
    """Reasons per row (a row may collect several)."""

    def __init__(self, n: int):
        self.reasons: List[List[str]] = [[] for _ in range(n)]

    def add(self, mask: np.ndarray, reason: str) -> None:
        for i in np.flatnonzero(mask):
            self.reasons[i].append(reason)

    @property
    def rejected(self) -> np.ndarray:
        return np.array([bool(r) for r in self.reasons], bool)


def _numbers(df, column: str) -> np.ndarray:
    import pandas as pd
    return pd.to_numeric(df[column].str.strip(), errors="coerce").to_numpy(np.float64)


def _recent_items(df, rule, times: np.ndarray) -> np.ndarray:
    """Per row: the user's last ``max_length`` items with event = 1 strictly before its time,
    newest first, '|'-joined (an event at the same time as the row is not history)."""
    users = df[rule["user"]].to_numpy()
    items = df[rule["item"]].to_numpy()
    event = _numbers(df, rule["event"]) == 1
    when = _numbers(df, rule["time"])
    out = np.empty(len(df), dtype=object)
    order = np.lexsort((when, users))
    history: Dict[str, collections.deque] = {}
    i = 0
    while i < len(order):  # one timestamp group of one user at a time
        j = i
        while j < len(order) and users[order[j]] == users[order[i]] and \
                when[order[j]] == when[order[i]]:
            j += 1
        past = history.setdefault(users[order[i]], collections.deque(maxlen=rule["max_length"]))
        text = "|".join(reversed(past))
        for k in order[i:j]:
            out[k] = text
        for k in order[i:j]:
            if event[k]:
                past.append(str(items[k]))
        i = j
    return out


def _column(df, column: str, rule: dict, feature, rejections: _Rejections,
            timestamp: np.ndarray) -> np.ndarray:
    n = len(df)
    numeric = feature.dtype in (contract_lib.DType.INT, contract_lib.DType.FLOAT) \
        and not feature.is_list
    if "constant" in rule:
        return np.full(n, rule["constant"], dtype=object if not numeric else np.float64)
    if "derive" in rule:
        kind = rule["derive"]
        if kind == "row_number":
            return np.arange(n, dtype=np.float64) + rule.get("offset", 0)
        if kind in (names.DAY_OF_WEEK, names.HOUR_OF_DAY):
            stamp = np.nan_to_num(timestamp).astype("int64")
            derive = (timefields.utc_hour if kind == names.HOUR_OF_DAY
                      else timefields.utc_weekday)
            return derive(stamp).astype(np.float64)
        return _recent_items(df, rule, timestamp)
    source = rule["from"]
    if "values" in rule:
        raw = df[source].str.strip().to_numpy()
        table = {str(k): v for k, v in rule["values"].items()}
        mapped = np.array([table.get(v, rule.get("default")) for v in raw], dtype=object)
        rejections.add(np.array([m is None for m in mapped]), f"unmapped_value:{source}")
        return mapped
    if not numeric:
        return df[source].to_numpy(dtype=object)
    values = _numbers(df, source)
    rejections.add(~np.isfinite(values), f"unparseable:{source}")
    values = values * rule.get("scale", 1.0)
    if feature.dtype is contract_lib.DType.INT:
        values = np.floor(values) if rule.get("round", "floor") == "floor" else np.round(values)
    return values


def _reject_rules(df, mapping: Mapping, rejections: _Rejections) -> None:
    for rule in mapping.reject:
        if "duplicate_of" in rule:
            rejections.add(df.duplicated(subset=rule["duplicate_of"], keep="first").to_numpy(),
                           rule["reason"])
            continue
        values = _numbers(df, rule["column"])
        rejections.add(~np.isfinite(values), f"unparseable:{rule['column']}")
        with np.errstate(invalid="ignore"):
            rejections.add(_OPS[rule["op"]](values, float(rule["value"])) & np.isfinite(values),
                           rule["reason"])


def adapt(source_path: str, mapping: Mapping, out_dir: str) -> dict:
    """Maps ``source_path`` onto the contract under ``out_dir``; returns the accounting report.

    Raises:
      MappingError: the source lacks a column the mapping reads.
      ValueError: the written logs fail ``lt4rec.schemas.validation`` (a mapping that produces values
        outside the contract, e.g. an unknown vocabulary constant).
    """
    contract = contract_lib.load()
    df = read_source(source_path, mapping.delimiter)
    missing = [c for c in mapping.source_columns() if c not in df.columns]
    if missing:
        raise MappingError(f"mapping file {mapping.path}: source {source_path} lacks column(s) "
                           f"{missing}; it has {list(df.columns)}")
    n = len(df)
    rejections = _Rejections(n)
    _reject_rules(df, mapping, rejections)
    cols: Dict[str, np.ndarray] = {}
    order = [names.TIMESTAMP] + [c for c in names.LOG_COLUMNS if c != names.TIMESTAMP]
    for column in order:
        cols[column] = _column(df, column, mapping.columns[column], contract[column],
                               rejections, cols.get(names.TIMESTAMP))
    click, watch = cols[names.CLICK], cols[names.WATCH_TIME_S]
    with np.errstate(invalid="ignore"):
        not_clicked_watch = (click == 0) & (watch > 0)
        replays = (click == 1) & (watch >= cols[names.VIDEO_LENGTH_S])
    if mapping.not_clicked_watch_time == "reject":
        rejections.add(not_clicked_watch, "watch_time_on_non_click")
    else:
        cols[names.WATCH_TIME_S] = np.where(not_clicked_watch, 0.0, watch)
    rejected = rejections.rejected
    keep = ~rejected
    report = _write(df, cols, keep, rejections, source_path, mapping, out_dir)
    report.update({
        "not_clicked_watch_time": {
            "policy": mapping.not_clicked_watch_time,
            "rows": int((not_clicked_watch & keep).sum()) if mapping.not_clicked_watch_time ==
            "zero" else int(not_clicked_watch.sum()),
            "meaning": "watch time logged on a non-click (e.g. autoplay preview); the contract "
                       "requires 0 there: set to 0 ('zero') or rejected ('reject')"},
        "replays_ratio_ge_1": {
            "rows": int((replays & keep).sum()),
            "meaning": "clicked rows with watch time >= video length (replays); kept as logged, "
                       "the contract's CVR label min(watch/length, 1) caps them at 1"}})
    _write_json(report, out_dir)
    _check_output(out_dir, report)
    return report


def _write(df, cols, keep, rejections, source_path, mapping, out_dir) -> dict:
    os.makedirs(os.path.join(out_dir, ADAPT_DIR), exist_ok=True)
    stamp = cols[names.TIMESTAMP][keep].astype("int64")
    days = stamp.astype("datetime64[s]").astype("datetime64[D]")
    per_day = {}
    typed = {}
    contract = contract_lib.load()
    for c in names.LOG_COLUMNS:
        values = cols[c][keep]
        f = contract[c]
        if f.is_list or f.dtype is contract_lib.DType.STRING:
            typed[c] = np.asarray(values, dtype=object).astype(str)
        elif f.dtype is contract_lib.DType.INT:
            typed[c] = values.astype(np.int64)
        else:
            typed[c] = values.astype(np.float64)
    for day in np.unique(days):
        sel = np.flatnonzero(days == day)
        sel = sel[np.argsort(stamp[sel], kind="stable")]
        name = str(day)
        logs.write_csv({c: v[sel] for c, v in typed.items()},
                       os.path.join(out_dir, name, logs.LOG_FILE_NAME))
        per_day[name] = int(len(sel))
    quarantine = os.path.join(out_dir, ADAPT_DIR, QUARANTINE_FILE)
    raw = df.to_numpy(dtype=str)
    with Quarantine(quarantine, ("source_line",)) as rejected:
        for i in np.flatnonzero(~keep):  # source line i + 2: after the header, 1-based
            rejected.reject((i + 2,), rejections.reasons[i], mapping.delimiter.join(raw[i]))
    if mapping.attribution:
        with open(os.path.join(out_dir, ADAPT_DIR, ATTRIBUTION_FILE), "w",
                  encoding="utf-8") as fh:
            fh.write(mapping.attribution + "\n")
    why = {r["reason"]: r.get("why", "") for r in mapping.reject}
    return {"source": os.path.abspath(source_path), "mapping": os.path.abspath(mapping.path),
            "rows_read": int(len(keep)), "rows_accepted": int(keep.sum()),
            "rows_rejected": int((~keep).sum()),
            "rejected_by_reason": {r: {"rows": c, "why": why.get(r, "")}
                                   for r, c in sorted(rejected.by_reason.items())},
            "days": per_day, "quarantine": quarantine, "attribution": mapping.attribution}


def _write_json(report: dict, out_dir: str) -> None:
    with open(os.path.join(out_dir, ADAPT_DIR, REPORT_FILE), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)


def _check_output(out_dir: str, report: dict) -> None:
    if not report["days"]:
        raise ValueError(f"every one of {report['rows_read']} source rows was rejected; see "
                         f"{report['quarantine']}")
    result = validate_logs(out_dir, use_tfdv=False)
    if result.rows_rejected:
        raise ValueError(f"the adapted logs under {out_dir} break the contract (a mapping "
                         f"problem):\n" + format_report(result))
