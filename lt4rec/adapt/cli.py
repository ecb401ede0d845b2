"""Map a public dataset's table onto LT4REC's traffic-log contract through a mapping file.

The mapping file (JSON; documented in lt4rec/adapt/mapping.py, examples in schemas/mappings/)
says how each contract column is made: renamed from a source column, with unit conversion
(e.g. ms -> s), looked up in a value table, a constant for a column the source lacks, or
derived (row number, day_of_week / hour_of_day from the timestamp, the user's recent clicks).
It also says which rows the contract cannot accept and why (e.g. duration_ms = 0: watch ratio
undefined; duplicate impressions) and what to do with watch time on non-clicks (zero it or
reject the row). Writes OUT/YYYY-MM-DD/impressions.csv (UTC days), OUT/_adapt/quarantine.csv
(every rejected source line with its reasons), OUT/_adapt/report.json (rows read = accepted +
rejected, counts per reason, zeroed non-click watch times, replays) and the data's attribution;
then checks the output with the same rules as `lt4rec validate`.
"""

from __future__ import annotations

import argparse

from lt4rec.adapt.mapping import load_mapping


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mapping", required=True,
                        help="mapping file (JSON), e.g. schemas/mappings/kuairand_likehate.json")
    parser.add_argument("--input", required=True, help="source table (CSV/TSV with a header)")
    parser.add_argument("--out", required=True, help="log root to write day folders into")


def main(args: argparse.Namespace) -> int:
    from lt4rec.adapt.adapter import adapt  # deferred: pandas (the adapter validates its output)

    report = adapt(args.input, load_mapping(args.mapping), args.out)
    print(f"read {report['rows_read']:,} rows: {report['rows_accepted']:,} accepted into "
          f"{len(report['days'])} day folders under {args.out}, {report['rows_rejected']:,} "
          f"rejected -> {report['quarantine']}")
    for reason, info in report["rejected_by_reason"].items():
        print(f"  rejected {info['rows']:,}: {reason}  {info['why']}")
    nc = report["not_clicked_watch_time"]
    print(f"  watch time on non-clicks: {nc['rows']:,} rows ({nc['policy']})")
    print(f"  replays (watch >= length, label capped at 1): "
          f"{report['replays_ratio_ge_1']['rows']:,} rows")
    return 0
