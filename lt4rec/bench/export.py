"""Serving latency of the exports: dense reference vs S-Weight and compacted S-Neuron.

Trains `hard_share` (the dense reference: shared embeddings + cross, per task an unmasked MLP
of sNET's hidden units) and the --variants (`sparse_weight`, `sparse_neuron`) with
models.run.train_variant (the code behind `lt4rec train`: Algorithm 1 for the sparse ones,
exports with masks baked in, S-Neuron compacted) on simulated logs, loads each pCTR and pCVR SavedModel in this process and
calls its `serving_default` signature on batches of serialized tf.Examples of the test day
(as LogExampleGen writes them) of each BATCH_SIZE. The sparse variants' mask pick is held to
at least --min-sparsity (a pruned net; the automatic pick may keep the unpruned round). Per export and batch size: WARMUP untimed
calls, then CALLS timed calls (interleaved across exports in rounds, so load from other
processes hits every export alike); latency p50/p99 in ms and examples/s = batch / mean
latency, plus the export report's parameter and FLOP counts (`flops` counts nonzero
multiply-adds, `executed_flops` what the dense kernels execute). Client-side gRPC serving is
`lt4rec bench serve`'s business, not this one's.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from typing import Dict, List

from lt4rec.models.signatures import DEFAULT_SIGNATURE
from lt4rec.bench import common, workload
from lt4rec.schemas import logs as log_layout

SPARSE_VARIANTS = ("sparse_weight", "sparse_neuron")
REPORT_KEYS = ("nonzero_params", "dense_params", "flops", "executed_flops", "dense_flops",
               "bytes")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", default=",".join(SPARSE_VARIANTS),
                        help="comma-separated variants to export next to the dense reference "
                             f"({workload.DENSE_REFERENCE}, always exported); default "
                             "%(default)s")
    parser.add_argument("--batch-sizes", default="1,100,500",
                        help="examples per call, comma-separated (%(default)s)")
    parser.add_argument("--calls", type=int, default=200,
                        help="timed calls per export and batch size (200)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed calls per export and batch size (10)")
    parser.add_argument("--min-sparsity", type=float, default=0.45,
                        help="the sparse variants' pruning.min_sparsity: the picked round must "
                             "be at least this sparse (if any round is), so the exports are "
                             "pruned nets; 0 = keep the config's (automatic pick) (0.45)")
    workload.add_data_arguments(parser, days=4, rows_per_day=20_000)
    workload.add_config_argument(parser)


def _test_examples(log_dir: str, n: int) -> List[bytes]:
    """``n`` serialized tf.Examples of the last day's rows (repeated if the day is shorter)."""
    from lt4rec.schemas.examples import encode_rows  # deferred: TensorFlow
    from lt4rec.schemas.validation import validate_logs  # deferred: pandas

    columns = validate_logs(log_layout.find_log_files(log_dir)[-1][0], use_tfdv=False).accepted
    rows = list(encode_rows({k: v[:n] for k, v in columns.items()}))
    return (rows * (n // len(rows) + 1))[:n]


def time_exports(paths: Dict[str, str], examples: List[bytes], batch_sizes: List[int],
                 calls: int, warmup: int, rounds: int = 5) -> Dict[str, Dict[str, dict]]:
    """{export: {batch_size: latency_summary + examples_per_s}} of ``serving_default``."""
    import tensorflow as tf

    fns = {name: tf.saved_model.load(path).signatures[DEFAULT_SIGNATURE]
           for name, path in paths.items()}
    out: Dict[str, Dict[str, dict]] = {name: {} for name in fns}
    for bs in batch_sizes:
        batch = tf.constant(examples[:bs])
        for fn in fns.values():
            for _ in range(warmup):
                fn(examples=batch)
        seconds = {name: [] for name in fns}
        for r in range(rounds):  # ``calls`` in all, spread over the rounds
            for name, fn in fns.items():
                for _ in range(calls // rounds + (r < calls % rounds)):
                    started = time.perf_counter()
                    _ = {k: v.numpy() for k, v in fn(examples=batch).items()}
                    seconds[name].append(time.perf_counter() - started)
        for name, s in seconds.items():
            summary = common.latency_summary(s)
            summary["examples_per_s"] = bs / (summary["mean_ms"] / 1e3)
            out[name][str(bs)] = summary
    return out


def main(args: argparse.Namespace) -> int:
    from lt4rec.models.run import train_variant  # deferred: TensorFlow

    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    if not batch_sizes or min(batch_sizes) < 1 or args.calls < 1 or args.warmup < 0:
        raise ValueError(f"--batch-sizes must be positive integers, --calls >= 1, --warmup >= 0."
                         f" Received: {args.batch_sizes!r}, {args.calls}, {args.warmup}")
    variants = [workload.DENSE_REFERENCE] + [
        v for v in workload.parse_variants(args.variants) if v != workload.DENSE_REFERENCE]
    configs = {v: workload.variant_config(v, args.config) for v in variants}
    if args.min_sparsity > 0:
        configs = {v: (dataclasses.replace(c, pruning=dataclasses.replace(
            c.pruning, min_sparsity=args.min_sparsity)) if c.model.is_sparse else c)
            for v, c in configs.items()}
    reports, paths, picked = {}, {}, {}
    with workload.simulated_logs(args.days, args.rows_per_day, args.seed) as logs, \
            tempfile.TemporaryDirectory(prefix="lt4rec_bench_export_") as out:
        from lt4rec.models.data import load_dataset  # deferred: TensorFlow
        dataset = load_dataset(logs, configs[workload.DENSE_REFERENCE].trainer)
        examples = _test_examples(logs, max(batch_sizes))
        for name, config in configs.items():
            print(f"bench export: training {name} ...", file=sys.stderr, flush=True)
            run = train_variant(dataset, config, os.path.join(out, name), args.seed)
            if "mask_search" in run:  # the sparsity of each task's picked round
                picked[name] = {t: v["rounds"][v["picked_round"]]["sparsity"]
                                for t, v in run["mask_search"]["tasks"].items()}
            for task in ("pctr", "pcvr"):
                reports[f"{name}/{task}"] = {k: run["export"][task][k] for k in REPORT_KEYS}
                paths[f"{name}/{task}"] = run["export"][task]["path"]
        print("bench export: timing serving_default ...", file=sys.stderr, flush=True)
        latency = time_exports(paths, examples, batch_sizes, args.calls, args.warmup)
    result = {"exports": {}, "batch_sizes": batch_sizes, "min_sparsity": args.min_sparsity,
              "dense_reference": workload.DENSE_REFERENCE,
              "data": {"days": args.days, "rows_per_day": args.rows_per_day, "seed": args.seed}}
    rows = []
    for name, report in reports.items():
        variant, task = name.split("/")
        ref = latency[f"{workload.DENSE_REFERENCE}/{task}"]
        entry = dict(report, latency=latency[name], p50_vs_dense={
            bs: latency[name][bs]["p50_ms"] / ref[bs]["p50_ms"] for bs in latency[name]})
        if variant in picked:
            entry["picked_sparsity"] = picked[variant]
        result["exports"][name] = entry
        for bs, lat in latency[name].items():
            rows.append([name, int(bs), round(lat["p50_ms"], 3), round(lat["p99_ms"], 3),
                         lat["examples_per_s"], round(entry["p50_vs_dense"][bs], 3),
                         report["nonzero_params"], report["flops"]])
    print(common.format_table(["export", "batch", "p50 ms", "p99 ms", "examples/s",
                               "p50 vs dense", "nonzero params", "FLOPs/example"], rows))
    path = common.write_result("export", result, args.out_dir or common.DEFAULT_OUT_DIR)
    print(f"wrote {path}")
    return 0
