"""Train one model variant on day-split traffic logs and export pCTR/pCVR SavedModels.

Runs lt4rec.models.run.train_variant (as `lt4rec experiment` does for each run): validated logs
are split by day (last day = test, the day before = validation, the rest = train); sparse
variants run Algorithm 1 (warm-up -> per-task pruning rounds with rewinding -> automatic round
pick) before joint training, which follows lt4rec.models.recipe, the same recipe as the TFX
pipeline's SparseTrainer. Variants: single_task, hard_share, sparse_weight, sparse_neuron, mmoe,
esmm, and tuning presets (sparse_weight_balance, _conflict, _multiview, _big). Writes OUT/metrics.json
(CTR AUC, CVR MSE, CTCVR AUC per split; mask search; mask statistics; export sizes and FLOPs),
OUT/export/{pctr,pcvr,combined}/ SavedModels, and pruning/mask PNGs for sparse variants.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from lt4rec.models.config import VARIANTS, load_config
from lt4rec.commands import train_workers
from lt4rec.models.multi_worker import task_output_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="log root with day folders YYYY-MM-DD/")
    parser.add_argument("--variant", default="sparse_weight", choices=sorted(VARIANTS),
                        help="model variant (default sparse_weight)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--config", help="JSON of config overrides, e.g. "
                                         '{"pruning": {"rounds": 6}, "trainer": {"epochs": 3}}')
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--max-reject-fraction", type=float, default=0.0,
                        help="fail when more than this fraction of log rows is rejected (0)")
    parser.add_argument("--workers", type=int, default=1,
                        help="train with N worker processes on 127.0.0.1 (multi-worker "
                             "training, one TF_CONFIG each; trainer.batch_size stays the "
                             "global batch) (1)")


def _summary(result: dict) -> str:
    lines = [f"variant {result['variant']} seed {result['seed']}: "
             f"{result['train_examples_per_s']:,.0f} training examples/s, "
             f"{result['wall_seconds']:.0f} s"]
    for split, m in result["metrics"].items():
        lines.append(f"  {split:<10} CTR AUC {m['ctr_auc']:.4f}  CVR MSE {m['cvr_mse']:.5f}  "
                     f"CTCVR AUC {m['ctcvr_auc']:.4f}  ({m['impressions']:,} rows)")
    for name in ("pctr", "pcvr"):
        e = result["export"][name]
        lines.append(f"  export {name}: {e['nonzero_params']:,}/{e['dense_params']:,} params, "
                     f"{e['flops']:,}/{e['dense_flops']:,} FLOPs per example, "
                     f"{e['bytes'] / 1e6:.1f} MB -> {e['path']}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    from lt4rec.models.distribution import make_strategy  # deferred: imports TensorFlow
    from lt4rec.models.run import train_variant  # deferred: imports TensorFlow

    if train_workers.wants_launch(args):
        train_workers.launch_workers(args)
        with open(os.path.join(args.out, "metrics.json"), encoding="utf-8") as fh:
            print(_summary(json.load(fh)))
        return 0
    config = load_config(args.variant, args.config)
    make_strategy(config.trainer)  # multi_worker: before any TensorFlow op (see distribution)
    # Under TF_CONFIG (launched workers, TFJob pods), only worker 0 writes to --out.
    result = train_variant(args.data, config, task_output_dir(args.out), args.seed,
                           progress=lambda msg: print(msg, file=sys.stderr, flush=True),
                           max_reject_fraction=args.max_reject_fraction)
    print(_summary(result))
    return 0
