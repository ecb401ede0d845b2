"""Write simulated daily traffic logs under OUT/YYYY-MM-DD/impressions.csv.

The simulator stands in for a video platform's impression logs: latent user interests x item
topics drive both click and watch; item appeal (clickbait) drives clicks only; item quality and
video length drive watch ratio only; Zipf item popularity, heavy-tailed user activity, drift
across days. The same --seed always writes the same logs. Ground truth (expected click
probability and watch ratio per impression) goes to OUT/_ground_truth/ unless --no-ground-truth.
Every knob is a field of lt4rec.simulator.SimulatorConfig; override any of them with --config.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from lt4rec.simulator.config import SimulatorConfig
from lt4rec.simulator.run import DEFAULT_START_DATE, simulate


def _date(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="log root to write day folders into")
    parser.add_argument("--days", type=int, default=2, help="number of consecutive days (2)")
    parser.add_argument("--rows-per-day", type=int, default=20_000,
                        help="impressions per day (20000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--start-date", type=_date, default=DEFAULT_START_DATE,
                        help=f"first day, YYYY-MM-DD ({DEFAULT_START_DATE})")
    parser.add_argument("--config", help="JSON file of SimulatorConfig field overrides, "
                                         'e.g. {"ctr": 0.3, "w_appeal": 1.2}')
    parser.add_argument("--no-ground-truth", action="store_true",
                        help="do not write OUT/_ground_truth/")


def main(args: argparse.Namespace) -> int:
    config = SimulatorConfig.from_json(args.config) if args.config else SimulatorConfig()
    summary = simulate(args.out, args.days, args.rows_per_day, args.seed, args.start_date,
                       config, write_truth=not args.no_ground_truth,
                       progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    t = summary["timing"]
    print(f"wrote {args.days * args.rows_per_day:,} rows to {args.out} "
          f"(generate {t['generate_rows_per_s']:,.0f} rows/s, "
          f"with CSV writing {t['end_to_end_rows_per_s']:,.0f} rows/s)")
    return 0
