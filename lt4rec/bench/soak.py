"""Soak: N consecutive simulated days through the daily pipeline, as a scheduler would run it.

Simulates DAYS days of ROWS impressions, then runs the local pipeline once per day, oldest
first (day 1 searches the masks; later days reuse them and warm-start from the last blessed
model), applying the retention policies after each day. Per day it records the wall time, the
model's CTR AUC and CVR MSE on the day's eval split (SparseTrainer's metrics.json), whether it
was pushed (and why not), whether it warm-started, and the disk used by the root (artifacts,
ML Metadata, serving versions). Writes ``OUT/soak.json`` after every day (a partial soak still
leaves its figures) and ``OUT/soak.png``. Not a test: it prints what it sees.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time

from lt4rec.bench import common

DEFAULT_OUT = os.path.join("docs", "results", "soak")
# A small model so that a day's time is the pipeline's, not one big training run's.
SOAK_CONFIG = {"features": {"embedding_dim": 8, "user_buckets": 10_007, "item_buckets": 5_003,
                            "category_buckets": 101, "tag_buckets": 503},
               "model": {"hidden_units": [64, 32], "tower_units": [16]},
               "pruning": {"rounds": 3, "warmup_epochs": 1.0},
               "trainer": {"epochs": 2}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=14, help="consecutive days (14)")
    parser.add_argument("--rows-per-day", type=int, default=10_000,
                        help="simulated impressions per day (10,000)")
    parser.add_argument("--seed", type=int, default=0, help="simulator and training seed (0)")
    parser.add_argument("--keep-versions", type=int, default=3,
                        help="retention: serving versions kept per model (3)")
    parser.add_argument("--keep-days", type=int, default=3,
                        help="retention: days of pipeline artifacts kept (3)")
    parser.add_argument("--users", type=int, default=5_000,
                        help="simulated users (5,000; items: 2/5 of it): a world small enough "
                             "that days share users and items, so warm starts carry over")
    parser.add_argument("--min-ctr-auc", type=float, default=0.5,
                        help="the Evaluator's absolute CTR AUC floor for the soak (0.5); the "
                             "regression thresholds against the last blessed model are the "
                             "pipeline's defaults")
    parser.add_argument("--work-dir", help="logs and pipeline root (default: a temp dir, "
                                           "deleted at the end)")
    parser.add_argument("--beam-arg", action="append", default=None,
                        help="Beam option, repeatable (default --direct_running_mode=in_memory)")


def _day_metrics(root: str, span: int) -> dict:
    from lt4rec.pipeline.lineage import Lineage, open_store  # deferred: ML Metadata
    lineage = Lineage(open_store(root))
    models = [m for m in lineage.of_type("Model") if lineage.span(m.id) == span]
    if not models:
        return {}
    with open(os.path.join(models[-1].uri, "metrics.json"), encoding="utf-8") as fh:
        record = json.load(fh)
    return {"ctr_auc": record["eval"].get("ctr_auc"), "cvr_mse": record["eval"].get("cvr_mse"),
            "warm_started": record.get("warm_started"), "train_rows": record.get("train_rows")}


def run_soak(args, log_dir: str, root: str, out_dir: str) -> list:
    """Runs the days; returns one record per day (also written to ``out_dir/soak.json``)."""
    from lt4rec.components.log_example_gen.executor import span_of_date  # deferred: TFX
    from lt4rec.pipeline import local_runner  # deferred: TFX
    from lt4rec.pipeline.retention import RetentionPolicy, disk_bytes  # deferred: ML Metadata

    from lt4rec.pipeline.config import BlessingConfig, TrainingSettings  # deferred: TFMA
    policy = RetentionPolicy(args.keep_versions, args.keep_days)
    training = TrainingSettings(model_overrides=SOAK_CONFIG, seed=args.seed,
                                blessing=BlessingConfig(min_ctr_auc=args.min_ctr_auc))
    beam = args.beam_arg or ["--direct_running_mode=in_memory"]
    rows = []
    for number, day in enumerate(local_runner.log_days(log_dir), start=1):
        started = time.perf_counter()
        result = local_runner.run_day(log_dir, root, day, training, beam_pipeline_args=beam)
        freed = local_runner.apply_retention(root, policy)
        decision = result.decision
        rows.append(dict(
            day=number, date=day.isoformat(), seconds=round(time.perf_counter() - started, 1),
            pushed=decision.pushed, version=decision.version, stopped=decision.stopped,
            reasons=decision.reasons, **_day_metrics(root, span_of_date(day.year, day.month,
                                                                         day.day)),
            disk_mib=round(disk_bytes(root) / 2 ** 20, 1),
            serving_versions=len(result.pushed_versions),
            retention_deleted=len(freed.artifacts) + len(freed.versions),
            component_seconds={k: round(v, 1) for k, v in result.component_seconds.items()}))
        print(_line(rows[-1]), flush=True)
        _write(args, rows, out_dir)
    return rows


def _line(row: dict) -> str:
    outcome = (f"pushed v{row['version']}" if row["pushed"] else
               "STOPPED" if row["stopped"] else "not pushed")
    why = "" if row["pushed"] else "  (" + "; ".join(row["reasons"]) + ")"
    return (f"day {row['day']:2d} {row['date']}: {row['seconds']:6.1f}s  CTR AUC "
            f"{row.get('ctr_auc') or float('nan'):.4f}  CVR MSE "
            f"{row.get('cvr_mse') or float('nan'):.4f}  disk {row['disk_mib']:7.1f} MiB  {outcome}{why}")


def _write(args, rows: list, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    common.write_result("soak", {"days": rows, "config": SOAK_CONFIG,
                                 "rows_per_day": args.rows_per_day, "users": args.users,
                                 "min_ctr_auc": args.min_ctr_auc,
                                 "retention": {"keep_versions": args.keep_versions,
                                               "keep_days": args.keep_days}}, out_dir)
    _plot(rows, os.path.join(out_dir, "soak.png"))


def _plot(rows: list, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    days = [r["day"] for r in rows]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    panels = (("seconds", "wall time per day (s)"), ("ctr_auc", "CTR AUC (eval split)"),
              ("cvr_mse", "CVR MSE (eval split)"), ("disk_mib", "disk used (MiB)"))
    for ax, (key, title) in zip(axes, panels):
        values = [r.get(key) if r.get(key) is not None else float("nan") for r in rows]
        ax.plot(days, values, "o-", color="tab:blue")
        missed = [(d, v) for d, v, r in zip(days, values, rows) if not r["pushed"]]
        if missed:
            ax.plot(*zip(*missed), "x", color="tab:red", markersize=10, label="not pushed")
            ax.legend(fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(args: argparse.Namespace) -> int:
    from lt4rec.simulator import SimulatorConfig, simulate  # deferred: NumPy world building
    out_dir = args.out_dir or DEFAULT_OUT
    work = args.work_dir or tempfile.mkdtemp(prefix="lt4rec-soak-")
    log_dir, root = os.path.join(work, "logs"), os.path.join(work, "root")
    world = SimulatorConfig(n_users=args.users, n_items=max(args.users * 2 // 5, 100))
    simulate(log_dir, n_days=args.days, rows_per_day=args.rows_per_day, seed=args.seed,
             config=world)
    print(f"soak: {args.days} days x {args.rows_per_day:,} rows under {work}", flush=True)
    try:
        rows = run_soak(args, log_dir, root, out_dir)
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    print(common.format_table(
        ["day", "seconds", "ctr_auc", "cvr_mse", "pushed", "disk_mib"],
        [[r["day"], r["seconds"], round(r.get("ctr_auc") or 0, 4),
          round(r.get("cvr_mse") or 0, 4), "yes" if r["pushed"] else "no", r["disk_mib"]]
         for r in rows]))
    print(f"wrote {os.path.join(out_dir, 'soak.json')}, soak.png")
    return 0
