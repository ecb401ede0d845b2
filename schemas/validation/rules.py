"""Row-level checks of raw log columns against the contract, vectorised.

Each check yields a ``Violation``: an anomaly class, the column it concerns, and a boolean mask
over the file's well-formed rows. Per-column checks come from the schema (type, presence,
domain, inclusive bounds, the ``positive`` tag: ``schemas.values``, shared with the ranking
service); cross-column checks encode what a TFMD schema
cannot say (watch time needs a click; the timestamp belongs to the folder's day and agrees with
``hour_of_day``/``day_of_week``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from lt4rec.schemas import names, timefields
from lt4rec.schemas.contract import DType, Feature, Kind, LogContract
from lt4rec.schemas.values import (INT_PATTERN, MISSING_VALUE, NOT_POSITIVE,  # noqa: F401
                                   OUT_OF_DOMAIN, OUT_OF_RANGE, WRONG_TYPE, Violation,
                                   check_column)

# Anomaly classes, with the sentence the report prints for each.
MISSING_COLUMN = "missing_column"
EXTRA_COLUMN = "extra_column"
COLUMN_ORDER = "column_order"
EMPTY_FILE = "empty_file"
UNPARSEABLE_LINE = "unparseable_line"
WATCH_TIME_ON_NON_CLICK = "watch_time_on_non_click"
DUPLICATE_IMPRESSION_ID = "duplicate_impression_id"
TIMESTAMP_OUTSIDE_DAY = "timestamp_outside_day"
TIME_FIELDS_MISMATCH = "time_fields_mismatch"

DESCRIPTIONS = {
    MISSING_COLUMN: "the file's header lacks a contract column (whole file rejected)",
    EXTRA_COLUMN: "the file's header has a column the contract does not know (whole file rejected)",
    COLUMN_ORDER: "the header has the contract's columns in another order (whole file rejected)",
    EMPTY_FILE: "the file holds at least one row after its header",
    UNPARSEABLE_LINE: "a line that is not a CSV record of the header's width, or not UTF-8",
    MISSING_VALUE: "a required column is empty",
    WRONG_TYPE: "a value that does not parse as the column's type",
    OUT_OF_DOMAIN: "a categorical value outside the schema's vocabulary",
    OUT_OF_RANGE: "a number outside the schema's bounds",
    NOT_POSITIVE: "a value that must be > 0 is not",
    WATCH_TIME_ON_NON_CLICK: "watch_time_s > 0 on an impression with click = 0",
    DUPLICATE_IMPRESSION_ID: "an impression_id seen on an earlier row (the first one is kept)",
    TIMESTAMP_OUTSIDE_DAY: "the timestamp is not within the day of the file's folder",
    TIME_FIELDS_MISMATCH: "hour_of_day or day_of_week disagrees with the timestamp (UTC)",
}


@dataclasses.dataclass
class ParsedColumns:
    """Typed values of each column (NaN / None where unparseable) and which rows parsed."""
    values: Dict[str, np.ndarray]
    valid: Dict[str, np.ndarray]


def _fullmatch(raw: np.ndarray, pattern: str) -> np.ndarray:
    return pd.Series(raw, dtype=object).str.fullmatch(pattern).fillna(False).to_numpy(bool)


def _parse_ints(raw: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """CSV fields -> (int64 values, parsed mask); exact: ids exceed float64's 2**53."""
    fits = _fullmatch(raw, INT_PATTERN)
    as_int = [int(x) for x in raw[fits]]
    in_range = np.array([-2 ** 63 <= x < 2 ** 63 for x in as_int], dtype=bool)
    fits[np.flatnonzero(fits)[~in_range]] = False
    values = np.zeros(len(raw), dtype=np.int64)
    values[fits] = np.array([x for x, r in zip(as_int, in_range) if r], dtype=np.int64)
    return values, fits


def _check_column(feature: Feature, raw: np.ndarray) -> Tuple[np.ndarray, np.ndarray,
                                                               List[Violation]]:
    """Parses one raw column, then applies the contract's value rules (``schemas.values``, the
    same rules the ranking service applies to requests); returns (values, ok mask,
    violations)."""
    present = raw != ""
    if feature.kind is Kind.LIST or feature.dtype is DType.STRING:
        values, parsed = raw, None
    elif feature.dtype is DType.INT:
        values, parsed = _parse_ints(raw)
    else:
        values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(np.float64)
        parsed = None  # NaN where unparseable: check_column's finiteness rule refuses it
    ok, violations = check_column(feature, values, present, parsed)
    return values, ok, violations


def check_rows(contract: LogContract, raw_columns: Dict[str, np.ndarray],
               day: Optional[dt.date]) -> Tuple[ParsedColumns, List[Violation]]:
    """Runs every per-column and cross-column rule over one file's well-formed rows.

    Args:
      contract: the log contract.
      raw_columns: column name -> [n] object array of field strings; must hold every column.
      day: the date of the file's folder, or None (then the day rule is skipped).
    Returns:
      The parsed columns and every violation (masks may be all False).
    """
    values, valid, violations = {}, {}, []
    for feature in contract:
        v, ok, found = _check_column(feature, raw_columns[feature.name])
        values[feature.name], valid[feature.name] = v, ok
        violations.extend(found)
    violations.extend(_cross_column(values, valid, day))
    return ParsedColumns(values, valid), violations


def _cross_column(values, valid, day: Optional[dt.date]) -> List[Violation]:
    out = []
    both = valid[names.CLICK] & valid[names.WATCH_TIME_S]
    out.append(Violation(WATCH_TIME_ON_NON_CLICK, names.WATCH_TIME_S,
                         both & (values[names.CLICK] == 0) & (values[names.WATCH_TIME_S] > 0),
                         "0 when click = 0"))
    ts_ok = valid[names.TIMESTAMP]
    ts = values[names.TIMESTAMP]
    if day is not None:
        start = int(dt.datetime(day.year, day.month, day.day,
                                tzinfo=dt.timezone.utc).timestamp())
        out.append(Violation(TIMESTAMP_OUTSIDE_DAY, names.TIMESTAMP,
                             ts_ok & ((ts < start) | (ts >= start + 86400)),
                             f"within {day.isoformat()} UTC"))
    hour, weekday = timefields.utc_hour(ts), timefields.utc_weekday(ts)
    bad_hour = ts_ok & valid[names.HOUR_OF_DAY] & (values[names.HOUR_OF_DAY] != hour)
    bad_day = ts_ok & valid[names.DAY_OF_WEEK] & (values[names.DAY_OF_WEEK] != weekday)
    out.append(Violation(TIME_FIELDS_MISMATCH, names.HOUR_OF_DAY, bad_hour,
                         "the UTC hour of timestamp"))
    out.append(Violation(TIME_FIELDS_MISMATCH, names.DAY_OF_WEEK, bad_day,
                         "the UTC weekday of timestamp"))
    return out


def check_header(contract: LogContract, header: List[str]) -> List[Tuple[str, str, str]]:
    """File-level problems of a header: (code, column, requirement) triples, [] if it is right."""
    expected = list(contract.names)
    problems = [(MISSING_COLUMN, c, "present in the header") for c in expected if c not in header]
    problems += [(EXTRA_COLUMN, c, "not in the header (unknown to the contract)")
                 for c in header if c not in expected]
    dupes = sorted({c for c in header if header.count(c) > 1})
    problems += [(EXTRA_COLUMN, c, "present once (it is repeated)") for c in dupes]
    if not problems and header != expected:
        problems.append((COLUMN_ORDER, header[0], "header " + ",".join(expected)))
    return problems
