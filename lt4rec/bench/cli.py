"""Benchmarks that print figures and save them (``docs/results/bench/NAME.json``, machine info
included). Speed targets are checked here, never by timed tests.

  lt4rec bench NAME [options]     run one benchmark; `lt4rec bench NAME --help` explains it

On a GPU or TPU, pass a config whose ``trainer.distribution`` names the strategy (README).
"""

from __future__ import annotations

import argparse

from lt4rec.commands.registry import add_registered_commands

# name -> (module, one-line help); a benchmark module has add_arguments(parser) and main(args).
BENCHMARKS = {
    "serve": ("lt4rec.bench.serve",
              "ranking p50/p99 and requests/s over gRPC next to the in-process SavedModel call"),
    "train": ("lt4rec.bench.train",
              "steady-state training examples/s per variant vs a dense reference (mask overhead)"),
    "masks": ("lt4rec.bench.masks",
              "Algorithm 1's mask search wall time as a multiple of one final training run"),
    "ingest": ("lt4rec.bench.ingest",
               "LogExampleGen and Transform rows/s on simulated logs (TFX LocalDagRunner)"),
    "pipeline": ("lt4rec.bench.pipeline",
                 "one pipeline day end to end at 100k/300k/1M rows: per-component seconds, "
                 "rows/s, marginal cost, peak memory; LogExampleGen vs CsvExampleGen"),
    "export": ("lt4rec.bench.export",
               "serving_default latency per batch of 1/100/500 tf.Examples: dense vs sparse "
               "pCTR/pCVR exports"),
    "soak": ("lt4rec.bench.soak",
             "N consecutive simulated days through the pipeline with warm starts and retention: "
             "time, quality, pushes and disk per day"),
}


def _out_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-dir", default=None,
                        help="where NAME.json goes (default docs/results/bench/)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    sub.required = True
    add_registered_commands(sub, BENCHMARKS, "_bench_main", _out_dir_argument)


def main(args: argparse.Namespace) -> int:
    return int(args._bench_main(args) or 0)
