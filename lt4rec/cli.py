"""``lt4rec``: the command-line entry point; one subcommand per job.

Subcommands live beside the code they drive, each in a module with ``add_arguments(parser)``
and ``main(args) -> int``; adding one is one line in ``SUBCOMMANDS``. Those modules import
TensorFlow/TFX lazily inside ``main`` so ``lt4rec --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable, List, Optional

import lt4rec

# name -> (module, one-line help). Order is the order `lt4rec --help` lists them in.
SUBCOMMANDS = {
    "simulate": ("lt4rec.simulator.cli",
                 "write simulated daily traffic logs (click + watch time) with planted structure"),
    "validate": ("lt4rec.validation.cli",
                 "check traffic logs against the schema (TFDV); quarantine rejected rows"),
    "train": ("models.cli",
              "train one variant (Algorithm 1 for sparse ones) and export pCTR/pCVR SavedModels"),
    "pipeline": ("pipeline.cli",
                 "run the TFX pipeline locally (daily, incremental) or compile it for Kubeflow"),
    "serve": ("serving.serve_cli",
              "serve pCTR/pCVR models (TF Serving's gRPC API) and the Eq. 3 ranking service"),
    "rank": ("serving.rank_cli", "rank a JSON request's candidates with a ranking server"),
    "experiment": ("lt4rec.experiment.cli",
                   "train every variant x seed on the same splits; Table 2/3 reports and plots"),
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_registered_commands(sub, SUBCOMMANDS, "_main")
    return parser


def add_registered_commands(sub, registry, main_key: str,
                            extra_arguments: Optional[Callable] = None) -> None:
    """Adds one subparser per ``registry`` entry ``name -> (module, one-line help)``.

    Each module provides ``add_arguments(parser)`` and ``main(args)``; its docstring becomes
    the subcommand's ``--help`` description, and ``main`` is stored as ``args.<main_key>``.
    ``extra_arguments(parser)``, when given, adds options every entry shares.
    """
    for name, (module_name, help_text) in registry.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        if extra_arguments is not None:
            extra_arguments(p)
        p.set_defaults(**{main_key: module.main})


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
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
