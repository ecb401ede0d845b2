"""Tune every variant with the same budget on the validation days; write the best configs.

Each variant gets its own KerasTuner search (``models.tuning``) of --trials trials over its own
knobs (``models.search_space.KNOBS``: learning rate, loss weights, widths, expert counts, and
for sparse variants Algorithm 1's mask-search knobs), with the same oracle seed and training
seed. Trial 0 is the variant as configured; a trial is one training run scored on the
validation days (objective: validation CVR MSE; trials losing more than --auc-margin
validation CTR AUC against trial 0 are rejected). The test days are never read. Writes
OUT/configs/VARIANT.json (use them with `lt4rec experiment --tuned-dir OUT`),
OUT/tuning_report.json and OUT/tuning_trials.png. Re-running the same command resumes.
"""

from __future__ import annotations

import argparse
import sys
import time

from lt4rec.experiment.runner import make_configs
from lt4rec.models.config import load_overrides
from lt4rec.experiment.tune import REPORT_JSON, run_tuning

DEFAULT_VARIANTS = "single_task,hard_share,sparse_weight,mmoe"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="log root with day folders YYYY-MM-DD/")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS,
                        help=f"comma-separated variants ({DEFAULT_VARIANTS})")
    parser.add_argument("--trials", type=int, required=True,
                        help="trials per variant (the same for every variant)")
    parser.add_argument("--out", required=True, help="tuning directory (searches, configs)")
    parser.add_argument("--config", help="JSON of config overrides every search starts from "
                                         "(e.g. the experiment's --config)")
    parser.add_argument("--seed", type=int, default=0, help="oracle and training seed (0)")
    parser.add_argument("--oracle", default="random", choices=("random", "bayesian"),
                        help="KerasTuner oracle: random search or Bayesian optimisation")
    parser.add_argument("--auc-margin", type=float, default=0.001,
                        help="reject trials whose validation CTR AUC is more than this below "
                             "the variant's defaults trial (0.001)")
    parser.add_argument("--knobs", help="comma-separated knob names to search (default: each "
                                        "variant's knobs from models.search_space.KNOBS)")
    parser.add_argument("--max-reject-fraction", type=float, default=0.0,
                        help="fail when more than this fraction of log rows is rejected (0)")
    parser.add_argument("--quiet", action="store_true",
                        help="one line per trial only (not the trainer's own lines)")


def main(args: argparse.Namespace) -> int:
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if args.trials < 1:
        raise ValueError(f"--trials must be >= 1. Received: {args.trials}")
    overrides = load_overrides(args.config)
    if overrides:
        overrides.pop("variant", None)
    make_configs(variants, overrides)  # fail fast on a bad variant or setting
    knobs = [k.strip() for k in args.knobs.split(",") if k.strip()] if args.knobs else None
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()
    report = run_tuning(args.data, variants, args.trials, args.out, overrides, args.seed,
                        args.oracle, args.auc_margin, knobs, say=say,
                        detail=None if args.quiet else (lambda m: say("    " + m)),
                        max_reject_fraction=args.max_reject_fraction)
    for variant, info in report["variants"].items():
        rel = info["best_vs_defaults_val_cvr_mse_rel"]
        say(f"{variant}: best trial {info['best_trial']} of {info['completed']}, validation "
            f"CVR MSE {'n/a (defaults trial failed)' if rel is None else f'{rel:+.2%}'} vs "
            f"defaults -> {info['config_file']}")
    say(f"wrote {args.out}/{REPORT_JSON} ({time.perf_counter() - started:.0f} s)")
    return 0
