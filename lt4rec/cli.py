"""``lt4rec``: the command-line entry point; one subcommand per job.

Subcommands live beside the code they drive, each in a module with ``add_arguments(parser)``
and ``main(args) -> int``; adding one is one line in ``SUBCOMMANDS``. Those modules import
TensorFlow/TFX lazily inside ``main`` so ``lt4rec --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import lt4rec
from lt4rec.commands.registry import add_registered_commands

# name -> (module, one-line help). Order is the order `lt4rec --help` lists them in.
SUBCOMMANDS = {
    "simulate": ("lt4rec.simulator.cli",
                 "write simulated daily traffic logs (click + watch time) with planted structure"),
    "validate": ("lt4rec.commands.validate",
                 "check traffic logs against the schema (TFDV); quarantine rejected rows"),
    "train": ("lt4rec.commands.train",
              "train one variant (Algorithm 1 for sparse ones) and export pCTR/pCVR SavedModels"),
    "pipeline": ("lt4rec.commands.pipeline",
                 "run the TFX pipeline locally (daily, incremental) or compile it for Kubeflow"),
    "beam": ("lt4rec.commands.beam",
             "start/stop a local Beam job service + worker pool (--beam-config portable)"),
    "serve": ("lt4rec.commands.serve",
              "serve pCTR/pCVR models (TF Serving's gRPC API) and the Eq. 3 ranking service"),
    "rank": ("lt4rec.commands.rank", "rank a JSON request's candidates with a ranking server"),
    "experiment": ("lt4rec.experiment.cli",
                   "train every variant x seed on the same splits; Table 2/3 reports and plots"),
    "study": ("lt4rec.experiment.study_cli",
              "a regime study: variants x seeds along ladders of simulated worlds"),
    "tune": ("lt4rec.experiment.tune_cli",
             "tune every variant with the same trial budget on the validation days (KerasTuner)"),
    "adapt": ("lt4rec.adapt.cli",
              "map a public dataset onto the log contract through a mapping file"),
    "bench": ("lt4rec.bench.cli",
              "benchmarks that print figures and save them with machine info"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lt4rec",
        description="LT4REC: multi-task pCTR/pCVR ranking with lottery-ticket sparse sharing. "
                    "Run `lt4rec COMMAND --help` for each command's options.")
    parser.add_argument("--version", action="version", version=f"lt4rec {lt4rec.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also show the libraries' own logs and warnings (TensorFlow, "
                             f"absl, Beam, TFX); same as {lt4rec.VERBOSE_ENV}=1")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_registered_commands(sub, SUBCOMMANDS, "_main")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:  # before any command imports TensorFlow
        lt4rec.configure_output(verbose=True)
    try:
        return int(args._main(args) or 0)
    except (FileNotFoundError, ValueError) as err:
        print(f"lt4rec {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lt4rec {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
