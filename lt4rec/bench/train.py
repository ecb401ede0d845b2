"""Steady-state training throughput (examples/s) per variant, and the masks' overhead.

Each variant trains on the same simulated logs (train split of DAYS x ROWS_PER_DAY) with the
trainer that `lt4rec train` runs (models.training.Trainer.fit: its batching, its per-task
optimizers, trainer.mode). First WARMUP_BATCHES batches are run and not timed (tf.function
tracing of each task's step, first touches of the embedding tables); then WINDOWS timed windows
of WINDOW_BATCHES batches each, interleaved across variants (window 1 of every variant, then
window 2, ...) so load from other processes hits all alike; a window's figure is examples
trained / seconds, and the variant's figure is the median over windows, with min, max and
spread.

The dense reference is the `hard_share` config with the same overrides: the same shared
embeddings and cross layer, and for the task of each step an MLP with sNET's hidden units made
of the same layer class with no mask (x @ W + b), trained by the same Trainer, batch size and
Adam. Per step it does the work of `sparse_weight` minus the mask multiplies, so
mask_overhead_ratio = reference examples/s / variant examples/s (1.0 = masks are free; 1.2 =
steps take 20% longer), and throughput_vs_dense = variant / reference for every variant, each
the median over windows of the ratio within a window (the variant's window and the
reference's, run back to back). The same figures per CPU-second of this process
(`examples_per_cpu_s`, `*_cpu`) are less sensitive to other processes on a shared machine;
on an accelerator the wall-clock ones are what counts.

On GPUs or TPUs: --config with {"trainer": {"distribution": "mirrored", "batch_size": N}}.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Dict

from lt4rec.bench import common, workload


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", default=",".join(workload.TRAIN_VARIANTS),
                        help="comma-separated variants (default: %(default)s); the dense "
                             f"reference ({workload.DENSE_REFERENCE}) is always measured")
    workload.add_data_arguments(parser, days=3, rows_per_day=60_000)
    workload.add_config_argument(parser)
    parser.add_argument("--warmup-batches", type=int, default=30,
                        help="untimed batches before the windows (30)")
    parser.add_argument("--windows", type=int, default=7, help="timed windows (7)")
    parser.add_argument("--window-batches", type=int, default=80,
                        help="batches per timed window (80)")


def measure_variants(configs, train, warmup_batches: int, windows: int, window_batches: int,
                     seed: int = 0) -> Dict[str, Dict[str, object]]:
    """Times ``Trainer.fit`` windows of every config's model on ``train``, interleaved.

    Every model is built and warmed up first; then window w of every variant runs before
    window w + 1 of any, so a change in the machine's load hits all variants alike and the
    ratios between them stay fair.

    Args:
      configs: {name: LT4RecConfig} (one distribution strategy: the first config's).
      train: a transformed ``Split``.
    Returns:
      {name: {"examples_per_s": rate_summary, "warmup_seconds", "batch_size", "mode",
      "trainable_params", "examples_per_epoch"}}.
    """
    import numpy as np
    import tensorflow as tf

    from lt4rec.models.distribution import make_strategy  # deferred: TensorFlow
    from lt4rec.models.ranker import build_model  # deferred: TensorFlow
    from lt4rec.models.tasks import TASKS  # deferred: TensorFlow
    from lt4rec.models.training import Trainer  # deferred: TensorFlow

    tf.keras.utils.set_random_seed(seed)
    first = next(iter(configs.values()))
    out, trainers, epochs_per_batch = {}, {}, {}
    with make_strategy(first.trainer).scope():
        for name, config in configs.items():
            print(f"bench train: building and warming up {name}", file=sys.stderr, flush=True)
            trainer = Trainer(build_model(config, train.features), config, train, seed=seed)
            per_epoch = sum(len(rows) for _, rows in trainer.epoch_plan(TASKS))
            epochs_per_batch[name] = config.trainer.batch_size / per_epoch
            started = time.perf_counter()
            trainer.fit(warmup_batches * epochs_per_batch[name])
            params = int(sum(np.prod(v.shape) for v in trainer.model.trainable_variables))
            out[name] = {"warmup_seconds": time.perf_counter() - started,
                         "batch_size": config.trainer.batch_size, "mode": trainer.mode,
                         "trainable_params": params, "examples_per_epoch": int(per_epoch)}
            trainers[name] = trainer
        rates = {name: [] for name in configs}
        cpu_rates = {name: [] for name in configs}
        for w in range(windows):
            print(f"bench train: window {w + 1}/{windows}", file=sys.stderr, flush=True)
            for name, trainer in trainers.items():
                before, cpu_start = trainer.examples_seen, time.process_time()
                trainer.fit(window_batches * epochs_per_batch[name])
                examples = trainer.examples_seen - before
                rates[name].append(examples / max(trainer.seconds, 1e-9))
                cpu_rates[name].append(examples / max(time.process_time() - cpu_start, 1e-9))
    for name in configs:
        out[name]["examples_per_s"] = common.rate_summary(rates[name])
        out[name]["examples_per_cpu_s"] = common.rate_summary(cpu_rates[name])
    return out


def main(args: argparse.Namespace) -> int:
    import numpy as np

    variants = workload.parse_variants(args.variants)
    if min(args.windows, args.window_batches) < 1 or args.warmup_batches < 0:
        raise ValueError("--windows and --window-batches must be >= 1, --warmup-batches >= 0")
    reference = workload.DENSE_REFERENCE
    configs = {v: workload.variant_config(v, args.config) for v in [reference] + variants}
    with workload.simulated_logs(args.days, args.rows_per_day, args.seed) as logs:
        train = workload.load_transformed(logs, configs[reference]).train
        results = measure_variants(configs, train, args.warmup_batches, args.windows,
                                   args.window_batches, args.seed)
    for name, config in configs.items():
        results[name].update(sharing=config.model.sharing,
                             hidden_units=list(config.model.hidden_units))
    for name, r in results.items():
        for clock, suffix in (("examples_per_s", ""), ("examples_per_cpu_s", "_cpu")):
            # Paired by window (measured back to back), then the median over windows.
            paired = [rate / ref for rate, ref in zip(r[clock]["values"],
                                                      results[reference][clock]["values"])]
            r["throughput_vs_dense" + suffix] = float(np.median(paired))
            r["throughput_vs_dense_windows" + suffix] = paired
            if configs[name].model.is_sparse:
                r["mask_overhead_ratio" + suffix] = float(np.median([1 / x for x in paired]))
    rows = [[name + (" (dense reference)" if name == reference else ""),
             r["examples_per_s"]["median"], r["examples_per_s"]["min"],
             r["examples_per_s"]["max"], round(r["examples_per_s"]["spread_pct"], 1),
             round(r["throughput_vs_dense"], 3),
             round(r["mask_overhead_ratio"], 3) if "mask_overhead_ratio" in r else "-",
             r["examples_per_cpu_s"]["median"], round(r["throughput_vs_dense_cpu"], 3),
             round(r["mask_overhead_ratio_cpu"], 3) if "mask_overhead_ratio_cpu" in r else "-"]
            for name, r in results.items()]
    print(common.format_table(["variant", "examples/s (median)", "min", "max", "spread %",
                               "vs dense", "mask overhead", "examples/CPU-s", "vs dense (CPU)",
                               "mask overhead (CPU)"], rows))
    result = {"variants": results, "dense_reference": {
        "variant": reference,
        "what": "hard_share config with the same overrides: shared embeddings + cross, per "
                "task an unmasked MLP of sNET's hidden units (MaskedDense with mask_type=None), "
                "same Trainer, batch size and Adam"},
        "data": {"days": args.days, "rows_per_day": args.rows_per_day, "seed": args.seed,
                 "train_rows": train.size, "train_clicks": int(len(train.clicked_index))},
        "timing": {"warmup_batches": args.warmup_batches, "windows": args.windows,
                   "window_batches": args.window_batches}}
    path = common.write_result("train", result, args.out_dir or common.DEFAULT_OUT_DIR)
    print(f"wrote {path}")
    return 0
