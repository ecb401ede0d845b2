"""Train every variant x seed on the same day splits and write Table 2/3 reports and plots.

The logs under --data are validated and split once (last --test-days days = test, the
validation days before them, the rest train: set them with --config's trainer section) and
every run reuses that Dataset; each run is `models.run.train_variant`, saved under
OUT/runs/VARIANT/seed_S/ (metrics.json, test_predictions.npz, exports). Finished runs are
skipped, so re-running the same command resumes a killed experiment (and --report-only
rewrites the reports from what has finished). Writes OUT/report.json, OUT/report.md
(papers' Table 2: CVR MSE, CTR AUC, change vs SingleTask (a CVR MSE that
rose reads "+x% (worse)"), mean ± std over seeds, paired
t-tests vs single_task and hard_share; whether the test window resolves a 1% MSE difference;
the offline Table 3: expected view time of each request's top-k under pCTR^a·pCVR^b·length^c
for the papers' model pairings) and PNGs (pruning rounds per task = Fig. 4, mask overlap per
layer = Fig. 3, training curves, test metrics).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from lt4rec.experiment.runner import make_configs, run_experiment
from lt4rec.models.config import load_overrides

DEFAULT_VARIANTS = "single_task,hard_share,sparse_weight,sparse_neuron,mmoe,esmm"


def _floats(text: str):
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="log root with day folders YYYY-MM-DD/")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS,
                        help=f"comma-separated variants ({DEFAULT_VARIANTS}); any of "
                             "models.config.VARIANTS, tuning presets included")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..K-1 per variant (3)")
    parser.add_argument("--out", required=True, help="experiment directory (runs/ + reports)")
    parser.add_argument("--config", help="JSON of config overrides applied to every variant, "
                                         'e.g. {"trainer": {"test_days": 4, "epochs": 2}}')
    parser.add_argument("--tuned-dir",
                        help="`lt4rec tune` output: each variant with a tuned config there "
                             "(DIR/configs/VARIANT.json) trains with it, over --config")
    parser.add_argument("--top-k", default="1,3",
                        help="k values of the offline Table 3 (1,3)")
    parser.add_argument("--rank-exponents", type=_floats, default=(1.0, 1.0, 1.0),
                        help="a,b,c of rankscore = pCTR^a * pCVR^b * video_length^c (1,1,1)")
    parser.add_argument("--max-reject-fraction", type=float, default=0.0,
                        help="fail when more than this fraction of log rows is rejected (0)")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing; write the reports from the finished runs")
    parser.add_argument("--note", action="append", default=[],
                        help="a line added to report.md (repeatable)")
    parser.add_argument("--quiet", action="store_true",
                        help="only one progress line per run (not the trainer's own lines)")


def main(args: argparse.Namespace) -> int:
    import json

    from lt4rec.experiment.report import write_reports  # deferred: matplotlib, pandas

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1. Received: {args.seeds}")
    seeds = list(range(args.seeds))
    try:
        ks = [int(k) for k in args.top_k.split(",")]
    except ValueError:
        raise ValueError(f"--top-k must be comma-separated integers. Received: {args.top_k!r}")
    if len(args.rank_exponents) != 3:
        raise ValueError(f"--rank-exponents needs three numbers a,b,c. Received: "
                         f"{args.rank_exponents}")
    overrides = load_overrides(args.config)
    if overrides:
        overrides.pop("variant", None)
    make_configs(variants, overrides, args.tuned_dir)  # fail fast on a bad variant or setting
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()
    if not args.report_only:
        run_experiment(args.data, variants, seeds, args.out, overrides, say=say,
                       detail=None if args.quiet else (lambda m: say("    " + m)),
                       max_reject_fraction=args.max_reject_fraction,
                       tuned_dir=args.tuned_dir)
    command = "lt4rec experiment " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if len(sys.argv) > 2 and sys.argv[1] == "experiment" else \
        f"lt4rec experiment --data {args.data} --variants {','.join(variants)} --seeds " \
        f"{args.seeds} --out {args.out}" + (f" --config {args.config}" if args.config else "")
    notes = list(args.note)
    if overrides:
        notes.append(f"config overrides for every variant: `{json.dumps(overrides)}`")
    if args.tuned_dir:
        notes.append(f"tuned configs from {args.tuned_dir} (`lt4rec tune`, equal trial budget "
                     f"per variant); report.json `tuned_configs` says which variant used one")
    report = write_reports(args.out, variants, seeds, command, args.data, ks,
                           args.rank_exponents, notes)
    say(f"wrote {args.out}/report.md, report.json and {len(report['figures'])} figures "
        f"({time.perf_counter() - started:.0f} s); missing runs: "
        f"{report['missing_runs'] or 'none'}")
    return 0
