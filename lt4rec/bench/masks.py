"""Algorithm 1's mask search wall time as a multiple of one final training run.

For each sparse variant, on the same simulated logs (DAYS x ROWS_PER_DAY; train = all days
but the last two, validation = the day before the last): build the model under the config's
strategy, run models.lottery.search_masks (warm-up -> theta, then per task ROUNDS rounds of
{rewind, one epoch on the task's samples, validation score, prune}), then the final training
exactly as `lt4rec train` does it (a fresh Trainer from theta through the picked masks,
trainer.epochs epochs). multiple = search seconds / final training seconds. Both include their
own tf.function tracing (the search builds one Trainer for the warm-up and one per task, and
each traces its steps), as a real run pays it; a throwaway model trains a few untimed batches
first, so the first variant does not also pay the process's TensorFlow start-up.

The search trains warmup_epochs epochs on both tasks' samples plus ROUNDS epochs of each task's
samples, the final run `epochs` epochs of both, so `epoch_multiple` =
(warmup_epochs + rounds) / epochs is what the multiple would be if time were proportional to
examples trained; the rest is validation scoring, pruning, rewinding and tracing.

On GPUs or TPUs: --config with {"trainer": {"distribution": "mirrored", "batch_size": N}}.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Dict

from lt4rec.bench import common, workload

SPARSE_VARIANTS = ("sparse_weight", "sparse_neuron")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", default=",".join(SPARSE_VARIANTS),
                        help="comma-separated sparse variants (default: %(default)s)")
    workload.add_data_arguments(parser, days=4, rows_per_day=30_000)
    workload.add_config_argument(parser)


def measure_variant(config, dataset, seed: int = 0) -> Dict[str, object]:
    """Times ``search_masks`` and the final ``Trainer.fit`` of one sparse variant.

    Args:
      config: a sparse variant's ``LT4RecConfig``; dataset: a transformed ``Dataset``.
    Returns:
      search/final seconds, their ratio, the search's breakdown and the picked sparsities.
    Raises:
      ValueError: the variant has no masks.
    """
    import tensorflow as tf

    from lt4rec.models.distribution import make_strategy  # deferred: TensorFlow
    from lt4rec.models.lottery import search_masks  # deferred: TensorFlow
    from lt4rec.models.pruning import sparsity  # deferred: TensorFlow
    from lt4rec.models.ranker import build_model  # deferred: TensorFlow
    from lt4rec.models.tasks import TASK_NAMES, TASKS  # deferred: TensorFlow
    from lt4rec.models.training import Trainer  # deferred: TensorFlow

    tf.keras.utils.set_random_seed(seed)
    with make_strategy(config.trainer).scope():
        model = build_model(config, dataset.train.features)
        search = search_masks(model, config, dataset.train, dataset.validation, seed)
        trainer = Trainer(model, config, dataset.train, seed=seed)
        started = time.perf_counter()
        trainer.fit(config.trainer.epochs)
        final_s = time.perf_counter() - started
    record = search.to_dict()
    cfg = config.pruning
    return {
        "search_seconds": search.seconds, "final_training_seconds": final_s,
        "multiple": search.seconds / final_s,
        "epoch_multiple": (cfg.warmup_epochs + cfg.rounds) / config.trainer.epochs,
        "warmup_seconds": search.warmup_seconds, "warmup_epochs": cfg.warmup_epochs,
        "rounds_per_task": cfg.rounds, "final_epochs": config.trainer.epochs,
        "round_seconds": {TASK_NAMES[t]: [r["seconds"] for r in record["tasks"][TASK_NAMES[t]][
            "rounds"]] for t in TASKS},
        "picked_sparsity": {TASK_NAMES[t]: sparsity(search.masks(t)) for t in TASKS},
        "final_examples_per_s": trainer.examples_seen / max(trainer.seconds, 1e-9),
    }


def warm_up_process(config, dataset, batches: int = 4) -> None:
    """Untimed: traces one throwaway model's steps, so the first variant measured does not pay
    the process's one-time TensorFlow start-up (kernel loading, first graph builds)."""
    from lt4rec.models.distribution import make_strategy  # deferred: TensorFlow
    from lt4rec.models.ranker import build_model  # deferred: TensorFlow
    from lt4rec.models.training import Trainer  # deferred: TensorFlow

    with make_strategy(config.trainer).scope():
        model = build_model(config, dataset.train.features)
        trainer = Trainer(model, config, dataset.train)
        bs = config.trainer.batch_size
        trainer.fit(min(1.0, batches * bs / max(dataset.train.size, 1)))


def main(args: argparse.Namespace) -> int:
    variants = workload.parse_variants(args.variants)
    configs = {v: workload.variant_config(v, args.config) for v in variants}
    dense = [v for v, c in configs.items() if not c.model.is_sparse]
    if dense:
        raise ValueError(f"--variants: {dense} have no masks to search; choose among sparse "
                         f"variants such as {list(SPARSE_VARIANTS)}")
    results = {}
    with workload.simulated_logs(args.days, args.rows_per_day, args.seed) as logs:
        dataset = workload.load_transformed(logs, configs[variants[0]])
        warm_up_process(configs[variants[0]], dataset)
        for name, config in configs.items():
            print(f"bench masks: {name} ...", file=sys.stderr, flush=True)
            results[name] = measure_variant(config, dataset, args.seed)
    rows = [[name, r["search_seconds"], r["warmup_seconds"],
             sum(map(sum, r["round_seconds"].values())), r["final_training_seconds"],
             round(r["multiple"], 2), r["epoch_multiple"],
             " / ".join(f"{s:.2f}" for s in r["picked_sparsity"].values())]
            for name, r in results.items()]
    print(common.format_table(["variant", "search s", "warm-up s", "rounds s", "final train s",
                               "multiple", "epoch multiple", "sparsity ctr / cvr"], rows))
    result = {"variants": results,
              "data": {"days": args.days, "rows_per_day": args.rows_per_day, "seed": args.seed,
                       "train_rows": dataset.train.size,
                       "validation_rows": dataset.validation.size}}
    path = common.write_result("masks", result, args.out_dir or common.DEFAULT_OUT_DIR)
    print(f"wrote {path}")
    return 0
