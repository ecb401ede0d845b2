"""Benchmarks that print figures and save them (``docs/results/bench/NAME.json``, machine info
included). Speed targets are checked here, never by timed tests.

  lt4rec bench NAME [options]     run one benchmark; `lt4rec bench NAME --help` explains it

On a GPU or TPU, pass a config whose ``trainer.distribution`` names the strategy (README).
"""

from __future__ import annotations

import argparse
import importlib

# name -> (module, one-line help); a benchmark module has add_arguments(parser) and main(args).
BENCHMARKS = {
    "serve": ("serving.bench",
              "ranking p50/p99 and requests/s over gRPC next to the in-process SavedModel call"),
    "train": ("lt4rec.bench.train",
              "steady-state training examples/s per variant vs a dense reference (mask overhead)"),
    "masks": ("lt4rec.bench.masks",
              "Algorithm 1's mask search wall time as a multiple of one final training run"),
    "ingest": ("lt4rec.bench.ingest",
               "LogExampleGen and Transform rows/s on simulated logs (TFX LocalDagRunner)"),
    "export": ("lt4rec.bench.export",
               "serving_default latency per batch of 1/100/500 tf.Examples: dense vs sparse "
               "pCTR/pCVR exports"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    sub.required = True
    for name, (module_name, help_text) in BENCHMARKS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.add_argument("--out-dir", default=None,
                       help="where NAME.json goes (default docs/results/bench/)")
        p.set_defaults(_bench_main=module.main)


def main(args: argparse.Namespace) -> int:
    return int(args._bench_main(args) or 0)
