"""Runs the simulator over consecutive days and writes the log folders."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Callable, Optional

import numpy as np

from lt4rec.schemas import logs
from lt4rec.simulator.config import SimulatorConfig
from lt4rec.simulator.day import DayLog, HistoryState, generate_day
from lt4rec.simulator.world import World
from lt4rec.schemas import labels, names

DEFAULT_START_DATE = dt.date(2026, 11, 1)


def iter_days(n_days: int, rows_per_day: int, seed: int,
              start_date: dt.date = DEFAULT_START_DATE,
              config: Optional[SimulatorConfig] = None):
    """Yields one ``DayLog`` per day; the same arguments always yield the same logs."""
    if n_days < 1 or rows_per_day < 1:
        raise ValueError(f"days and rows_per_day must be >= 1. Received: days={n_days}, "
                         f"rows_per_day={rows_per_day}")
    config = config or SimulatorConfig()
    world = World(config, seed)
    history = HistoryState(config.n_users, config.history_length)
    for d in range(n_days):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, d]))
        if d:
            world.advance(rng)
        yield generate_day(world, history, d, start_date + dt.timedelta(days=d), rows_per_day, rng)


def day_summary(day: DayLog) -> dict:
    """Rows, CTR and mean watch ratio among clicks of one simulated day."""
    cols = day.columns
    ratio = labels.watch_ratio(cols[names.WATCH_TIME_S], cols[names.VIDEO_LENGTH_S],
                               cols[names.CLICK])
    return {"date": day.date.strftime(logs.DAY_FORMAT), "rows": int(len(cols[names.CLICK])),
            "ctr": float(cols[names.CLICK].mean()),
            "mean_watch_ratio_on_clicks": float(np.nanmean(ratio)) if np.isfinite(ratio).any()
            else None,
            "users": int(len(np.unique(cols[names.USER_ID]))),
            "items": int(len(np.unique(cols[names.ITEM_ID])))}


def simulate(out_dir: str, n_days: int, rows_per_day: int, seed: int,
             start_date: dt.date = DEFAULT_START_DATE, config: Optional[SimulatorConfig] = None,
             write_truth: bool = True, progress: Optional[Callable[[str], None]] = None) -> dict:
    """Writes ``n_days`` day folders of ``rows_per_day`` impressions under ``out_dir``.

    Returns:
      The run summary also written to ``out_dir/_simulation.json``: arguments, config,
      per-day stats, and timings (``generate_rows_per_s`` excludes CSV writing).
    """
    config = config or SimulatorConfig()
    summary = {"seed": seed, "days": n_days, "rows_per_day": rows_per_day,
               "start_date": start_date.strftime(logs.DAY_FORMAT), "config": config.to_dict(),
               "per_day": []}
    gen_s = write_s = 0.0
    tick = time.perf_counter()
    for day in iter_days(n_days, rows_per_day, seed, start_date, config):
        gen_s += time.perf_counter() - tick
        tick = time.perf_counter()
        path = os.path.join(logs.day_dir(out_dir, day.date), logs.LOG_FILE_NAME)
        logs.write_csv(day.columns, path)
        if write_truth:
            truth_path = os.path.join(out_dir, logs.GROUND_TRUTH_DIR,
                                      day.date.strftime(logs.DAY_FORMAT) + ".csv")
            truth = {k: np.round(v, 6) if v.dtype.kind == "f" else v for k, v in day.truth.items()}
            logs.write_csv(truth, truth_path, column_order=list(truth))
        write_s += time.perf_counter() - tick
        stats = day_summary(day)
        summary["per_day"].append(stats)
        if progress:
            progress(f"{stats['date']}: {stats['rows']:,} rows, CTR {stats['ctr']:.3f}, "
                     f"watch ratio {stats['mean_watch_ratio_on_clicks']:.3f} -> {path}")
        tick = time.perf_counter()
    total_rows = n_days * rows_per_day
    summary["timing"] = {"generate_s": gen_s, "write_s": write_s,
                         "generate_rows_per_s": total_rows / max(gen_s, 1e-9),
                         "end_to_end_rows_per_s": total_rows / max(gen_s + write_s, 1e-9)}
    with open(os.path.join(out_dir, "_simulation.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2)
    return summary
