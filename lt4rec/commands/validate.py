"""Check traffic logs against the log contract (schemas/log_schema.pbtxt).

Every row is either accepted or rejected with a reason: missing/extra/reordered columns
(whole file), unparseable lines, missing values, wrong types, values outside the schema's
domain or bounds (click not in {0,1}, negative watch time, video_length_s <= 0, ...), watch
time on a non-click, timestamps outside the folder's day, duplicate impression ids. Accepted
rows then go through TFDV statistics validation against the same schema. Prints counts and
examples per anomaly; writes REPORT_DIR/quarantine.csv (each rejected row and why),
REPORT_DIR/report.json and TFDV statistics. Exit status: 0 clean, 1 anomalies, 2 usage error.
"""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True,
                        help="log root (day folders YYYY-MM-DD/*.csv), one day folder, or a file")
    parser.add_argument("--report-dir",
                        help="where to write quarantine.csv, report.json and TFDV statistics "
                             "(default: DATA/_validation, or beside a single file)")
    parser.add_argument("--no-tfdv", action="store_true",
                        help="skip TFDV statistics validation (row rules only; faster)")


def main(args: argparse.Namespace) -> int:
    from lt4rec.schemas.validation.validate import format_report, validate_logs  # deferred: pandas

    report_dir = args.report_dir
    if report_dir is None:
        base = args.data if os.path.isdir(args.data) else os.path.dirname(args.data)
        report_dir = os.path.join(base, "_validation")
    result = validate_logs(args.data, report_dir=report_dir, use_tfdv=not args.no_tfdv)
    print(format_report(result))
    print(f"report: {os.path.join(report_dir, 'report.json')}")
    return 0 if result.ok else 1
