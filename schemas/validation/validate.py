"""Validates traffic logs against the contract: every row accepted or quarantined with a reason.

``validate_logs`` reads each log CSV, rejects whole files whose header breaks the contract and
single rows that break a row rule (``rules.py``) or repeat an impression id, writes each rejected
row with its reasons to a quarantine CSV, and finally runs TFDV over the accepted rows
(statistics + ``validate_statistics`` against the same ``log_schema.pbtxt``) to catch what only
shows in aggregate (e.g. a required column missing in every row). Invariant, checked on return:
``rows_read == rows_accepted + rows_rejected``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from lt4rec.schemas import logs
from lt4rec.schemas.validation import reader, rules
from lt4rec.schemas.validation.quarantine import Quarantine
from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas import labels, names

MAX_EXAMPLES = 3
QUARANTINE_FILE = "quarantine.csv"
REPORT_FILE = "report.json"


@dataclasses.dataclass
class Anomaly:
    """One anomaly class on one column: how many rows, and a few examples."""
    code: str
    column: str
    requirement: str
    rows: int = 0
    examples: List[dict] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ValidationResult:
    """What ``validate_logs`` found. ``ok`` is True when there is no anomaly at all."""
    files: List[dict]
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    anomalies: List[Anomaly]
    tfdv_anomalies: List[dict]
    quarantine_path: Optional[str]
    accepted: Dict[str, np.ndarray]
    accepted_days: np.ndarray  # [rows_accepted] datetime64[D], the day folder of each row

    @property
    def ok(self) -> bool:
        return not self.anomalies and not self.tfdv_anomalies

    def to_dict(self) -> dict:
        return {"ok": self.ok, "rows_read": self.rows_read, "rows_accepted": self.rows_accepted,
                "rows_rejected": self.rows_rejected, "files": self.files,
                "anomalies": [dataclasses.asdict(a) for a in self.anomalies],
                "tfdv_anomalies": self.tfdv_anomalies, "quarantine": self.quarantine_path}


class _Tally:
    """Counts rows per (anomaly class, column) and keeps the first examples."""

    def __init__(self):
        self.by_key: Dict[Tuple[str, str], Anomaly] = collections.OrderedDict()

    def add(self, code, column, requirement, file, line, detail, raw):
        a = self.by_key.setdefault((code, column), Anomaly(code, column, requirement))
        a.rows += 1
        if len(a.examples) < MAX_EXAMPLES:
            a.examples.append({"file": file, "line": int(line), "detail": detail, "raw": raw})


def _value_text(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _validate_file(path, day, contract, seen_ids, tally, quarantine):
    """Validates one file. Returns (file summary, accepted typed columns)."""
    raw = reader.read_raw(path)
    summary = {"file": path, "day": day.isoformat() if day else None, "rows_read": raw.rows_read}
    for line, why, text in raw.unparseable:
        tally.add(rules.UNPARSEABLE_LINE, "", "a CSV record of the header's width", path, line,
                  why, text)
        quarantine.reject((path, line), [rules.UNPARSEABLE_LINE], text, [why])
    n = len(raw.line_numbers)
    if not raw.header or raw.rows_read == 0:  # a header alone is an empty day too
        tally.add(rules.EMPTY_FILE, "", rules.DESCRIPTIONS[rules.EMPTY_FILE], path, 0,
                  "file is empty" if not raw.header else "header only, no rows",
                  ",".join(raw.header))
        summary.update(rows_accepted=0, rows_rejected=0)
        return summary, None
    header_problems = rules.check_header(contract, raw.header)
    if header_problems:
        details = [f"{col}: must be {req}" for _, col, req in header_problems]
        codes = [code for code, _, _ in header_problems]
        for code, col, req in header_problems:
            tally.add(code, col, req, path, 1, f"{col}: must be {req}", ",".join(raw.header))
        for i in range(n):
            quarantine.reject((path, raw.line_numbers[i]), codes, raw.raw_line(i), details)
        summary.update(rows_accepted=0, rows_rejected=raw.rows_read)
        return summary, None
    parsed, violations = rules.check_rows(contract, raw.columns, day)
    # Duplicates: an id seen on any earlier row (this file or an earlier one) is rejected.
    ids = parsed.values[names.IMPRESSION_ID]
    id_ok = parsed.valid[names.IMPRESSION_ID]
    dup = np.zeros(n, bool)
    for i in np.flatnonzero(id_ok):
        key = int(ids[i])
        if key in seen_ids:
            dup[i] = True
        else:
            seen_ids[key] = (path, int(raw.line_numbers[i]))
    violations.append(rules.Violation(rules.DUPLICATE_IMPRESSION_ID, names.IMPRESSION_ID, dup,
                                      "unique"))
    rejected = np.zeros(n, bool)
    reasons: Dict[int, List[Tuple[str, str]]] = collections.defaultdict(list)
    for v in violations:
        for i in np.flatnonzero(v.mask):
            value = raw.columns[v.column][i]
            if v.code == rules.DUPLICATE_IMPRESSION_ID:
                first = seen_ids[int(ids[i])]
                detail = f"{v.column}={value} first seen at {first[0]}:{first[1]}"
            else:
                detail = f"{v.column}={_value_text(value)}: must be {v.requirement}"
            reasons[i].append((v.code, detail))
            tally.add(v.code, v.column, v.requirement, path, raw.line_numbers[i], detail,
                      raw.raw_line(i))
        rejected |= v.mask
    for i in np.flatnonzero(rejected):
        codes, details = zip(*reasons[i])
        quarantine.reject((path, raw.line_numbers[i]), list(codes), raw.raw_line(i),
                          list(details))
    keep = ~rejected
    summary.update(rows_accepted=int(keep.sum()),
                   rows_rejected=int(rejected.sum()) + len(raw.unparseable))
    accepted = {name: parsed.values[name][keep] for name in contract.names}
    return summary, accepted


def _concat(parts: List[Dict[str, np.ndarray]], contract) -> Dict[str, np.ndarray]:
    parts = [p for p in parts if p is not None]
    if not parts:
        return {name: np.zeros(0, dtype=object) for name in contract.names}
    return {name: np.concatenate([p[name] for p in parts]) for name in contract.names}


def run_tfdv(accepted: Dict[str, np.ndarray], contract, schema_path: str,
             stats_path: Optional[str] = None) -> List[dict]:
    """TFDV statistics of the accepted rows, validated against the schema (TRAINING env).

    Returns:
      One dict per TFDV anomaly: feature, short description, description.
    """
    import pandas as pd  # noqa: local import keeps TFDV (and TF) out of the fast path
    import tensorflow_data_validation as tfdv

    frame = {}
    for feature in contract:
        col = accepted[feature.name]
        if feature.dtype is contract_lib.DType.STRING:
            col = np.where(col == "", None, col)  # an empty list field is a missing value
        frame[feature.name] = col
    # The schema also describes the columns ExampleGen derives; check them on what it would write.
    frame[names.WATCH_RATIO] = labels.watch_ratio_column(
        accepted[names.WATCH_TIME_S], accepted[names.VIDEO_LENGTH_S], accepted[names.CLICK])
    stats = tfdv.generate_statistics_from_dataframe(pd.DataFrame(frame))
    if stats_path:
        tfdv.write_stats_text(stats, stats_path)
    schema = tfdv.load_schema_text(schema_path)
    found = tfdv.validate_statistics(stats, schema, environment=contract_lib.TRAINING_ENV)
    return [{"feature": name, "short": info.short_description, "description": info.description}
            for name, info in sorted(found.anomaly_info.items())]


def validate_logs(data: Union[str, Sequence[str]], report_dir: Optional[str] = None,
                  use_tfdv: bool = True,
                  schema_path: str = contract_lib.SCHEMA_PATH) -> ValidationResult:
    """Validates every log CSV under ``data`` (a log root, a day folder, a file, or a list of files).

    Args:
      data: where the logs are (see ``lt4rec.schemas.logs``), or an explicit list of CSV files.
      report_dir: where to write ``quarantine.csv``, ``report.json`` and TFDV statistics;
        None writes nothing.
      use_tfdv: also run TFDV's statistics validation over the accepted rows.
      schema_path: the TFMD schema to validate against.
    Returns:
      A ``ValidationResult``; its ``accepted`` holds the accepted rows' typed columns.
    Raises:
      FileNotFoundError: no log file under ``data``.
    """
    contract = contract_lib.load(schema_path)
    quarantine = Quarantine(os.path.join(report_dir, QUARANTINE_FILE) if report_dir else None,
                            ("file", "line"), with_details=True)
    tally, seen_ids, files, parts = _Tally(), {}, [], []
    try:
        found = ([(f, logs.day_of_file(f)) for f in data] if not isinstance(data, str)
                 else logs.find_log_files(data))
        for path, day in found:
            summary, accepted = _validate_file(path, day, contract, seen_ids, tally, quarantine)
            files.append(summary)
            parts.append(accepted)
    finally:
        quarantine.close()
    accepted = _concat(parts, contract)
    accepted_days = np.repeat(np.array([f["day"] or "NaT" for f in files], "datetime64[D]"),
                              [f["rows_accepted"] for f in files])
    rows_read = sum(f["rows_read"] for f in files)
    rows_accepted = sum(f["rows_accepted"] for f in files)
    rows_rejected = sum(f["rows_rejected"] for f in files)
    if rows_read != rows_accepted + rows_rejected or rows_accepted != len(accepted[names.CLICK]):
        raise AssertionError(f"row accounting broke: read {rows_read} != accepted "
                             f"{rows_accepted} + rejected {rows_rejected}")
    tfdv_found = []
    if use_tfdv and rows_accepted:
        stats_path = os.path.join(report_dir, "statistics.pbtxt") if report_dir else None
        tfdv_found = run_tfdv(accepted, contract, schema_path, stats_path)
    result = ValidationResult(files, rows_read, rows_accepted, rows_rejected,
                              list(tally.by_key.values()), tfdv_found, quarantine.path, accepted,
                              accepted_days)
    if report_dir:
        with open(os.path.join(report_dir, REPORT_FILE), "w", encoding="utf-8") as fh:
            json.dump(result.to_dict(), fh, indent=2)
    return result


def format_report(result: ValidationResult) -> str:
    """Human-readable summary: totals, then each anomaly with its count and examples."""
    lines = [f"rows read {result.rows_read:,} = accepted {result.rows_accepted:,} "
             f"+ rejected {result.rows_rejected:,}  ({len(result.files)} file(s))"]
    if result.ok:
        lines.append("no anomalies")
    for a in result.anomalies:
        where = f" [{a.column}]" if a.column else ""
        lines.append(f"ANOMALY {a.code}{where}: {a.rows:,} row(s) -- "
                     f"{rules.DESCRIPTIONS[a.code]}")
        for ex in a.examples:
            lines.append(f"    {ex['file']}:{ex['line']}: {ex['detail']}")
            if ex["raw"]:
                lines.append(f"        {ex['raw'][:160]}")
    for t in result.tfdv_anomalies:
        lines.append(f"ANOMALY tfdv [{t['feature']}]: {t['short']} -- {t['description']}")
    if result.quarantine_path:
        lines.append(f"quarantine: {result.quarantine_path}")
    return "\n".join(lines)
