"""Trains every variant x seed with ``models.run.train_variant`` on one loaded Dataset.

Layout under the experiment's output directory::

  OUT/data.json                    row accounting and the day splits (written once)
  OUT/runs/VARIANT/seed_S/         one ``train_variant`` output directory per run:
      metrics.json                 (written last: its presence marks the run finished)
      test_predictions.npz         pctr, pcvr, click, ratio over the test split, row order
      export/, masks.npz, *.png

A run whose directory lacks ``metrics.json`` was interrupted: it is deleted and trained again;
finished runs are skipped, so a killed experiment resumes where it stopped. Seeds are the outer
loop, so an experiment stopped early holds every variant for its first seeds.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from typing import Callable, Dict, List, Optional, Sequence

from lt4rec.models.artifacts import METRICS_FILE
from lt4rec.models.config import make_config
from lt4rec.experiment.tuned import TUNED_FILE, variant_overrides

RUNS_DIR = "runs"
DATA_FILE = "data.json"


def run_dir(out_dir: str, variant: str, seed: int) -> str:
    """OUT/runs/VARIANT/seed_S."""
    return os.path.join(out_dir, RUNS_DIR, variant, f"seed_{seed}")


def is_finished(path: str) -> bool:
    """A run is finished when its metrics.json exists (train_variant writes it last)."""
    return os.path.isfile(os.path.join(path, METRICS_FILE))


def load_run(path: str) -> Dict:
    """The metrics.json of a finished run."""
    with open(os.path.join(path, METRICS_FILE), encoding="utf-8") as fh:
        return json.load(fh)


def check_same_config(path: str, config) -> None:
    """Raises ValueError when the finished run at ``path`` was trained with another config
    (resuming must not mix runs of different settings in one report)."""
    if not is_finished(path):
        return
    from lt4rec.models.config import config_from_dict  # deferred: keeps --help instant
    # Through the dataclasses: a setting added after the run was trained reads as its default.
    stored = json.loads(json.dumps(config_from_dict(load_run(path)["config"]).to_dict()))
    wanted = json.loads(json.dumps(config.to_dict()))
    if stored != wanted:
        diff = sorted(f"{sec}.{k}" for sec in wanted if isinstance(wanted[sec], dict)
                      for k in wanted[sec] if stored.get(sec, {}).get(k) != wanted[sec][k])
        raise ValueError(f"{path} was trained with a different config ({diff or 'variant'} "
                         f"differ); use another --out or delete that run")


def make_configs(variants: Sequence[str], overrides: Optional[Dict] = None,
                 tuned_dir: Optional[str] = None) -> Dict:
    """variant -> LT4RecConfig; raises ValueError on an unknown variant or when the variants'
    day splits differ (every variant must be compared on the same splits).

    With ``tuned_dir`` (``lt4rec tune``'s output), a variant with a tuned config file there
    gets its tuned knobs over ``overrides`` (``experiment.tuned``).
    """
    if not variants:
        raise ValueError("no variants given")
    if len(set(variants)) != len(variants):
        raise ValueError(f"variants listed twice: {list(variants)}")
    per_variant, _ = variant_overrides(variants, overrides, tuned_dir)
    configs = {v: make_config(v, per_variant[v]) for v in variants}
    splits = {(c.trainer.validation_days, c.trainer.test_days) for c in configs.values()}
    if len(splits) > 1:
        raise ValueError(f"variants disagree on validation/test days: {splits}")
    return configs


def _eta(durations: Dict[str, List[float]], todo: Sequence[str]) -> float:
    """Seconds left: per remaining run, the mean duration of its variant so far (else of all)."""
    every = [d for ds in durations.values() for d in ds]
    if not every:
        return float("nan")
    overall = sum(every) / len(every)
    return sum((sum(durations[v]) / len(durations[v])) if durations.get(v) else overall
               for v in todo)


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def run_experiment(data_dir: str, variants: Sequence[str], seeds: Sequence[int], out_dir: str,
                   overrides: Optional[Dict] = None,
                   say: Callable[[str], None] = print,
                   detail: Optional[Callable[[str], None]] = None,
                   max_reject_fraction: float = 0.0,
                   tuned_dir: Optional[str] = None) -> List[str]:
    """Trains each (seed, variant) not yet finished under ``out_dir``; returns all run dirs.

    The logs are validated and split once (``models.data.load_dataset``) and, when every
    variant has the same feature config, preprocessed once; every run reuses that Dataset.

    Args:
      say: receives one progress line per run (variant, seed, elapsed, ETA).
      detail: receives train_variant's own progress lines (None: dropped).
      tuned_dir: ``lt4rec tune``'s output; variants with a tuned config there train with it
        (which ones is written to OUT/tuned_configs.json, and so to report.json).
    """
    configs = make_configs(variants, overrides, tuned_dir)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, TUNED_FILE), "w", encoding="utf-8") as fh:
        json.dump(variant_overrides(variants, overrides, tuned_dir)[1], fh, indent=2)
    plan = [(v, s) for s in seeds for v in variants]
    for v, s in plan:
        check_same_config(run_dir(out_dir, v, s), configs[v])
    todo = [(v, s) for v, s in plan if not is_finished(run_dir(out_dir, v, s))]
    say(f"experiment: {len(plan)} runs ({len(variants)} variants x {len(seeds)} seeds), "
        f"{len(plan) - len(todo)} already finished under {out_dir}")
    dirs = [run_dir(out_dir, v, s) for v, s in plan]
    if not todo:
        return dirs
    from lt4rec.models.data import load_dataset, transformed_dataset  # deferred: TensorFlow
    from lt4rec.models.run import train_variant  # deferred: TensorFlow

    os.makedirs(out_dir, exist_ok=True)
    first = configs[variants[0]]
    t0 = time.perf_counter()
    dataset = load_dataset(data_dir, first.trainer, max_reject_fraction,
                           quarantine_dir=os.path.join(out_dir, "validation"))
    say(f"loaded {data_dir} once in {time.perf_counter() - t0:.0f} s: train "
        f"{dataset.train.days} ({dataset.train.size:,} rows), validation "
        f"{dataset.validation.days} ({dataset.validation.size:,}), test {dataset.test.days} "
        f"({dataset.test.size:,})")
    with open(os.path.join(out_dir, DATA_FILE), "w", encoding="utf-8") as fh:
        json.dump(dict(dataset.accounting, data_dir=os.path.abspath(data_dir),
                       splits={s.name: {"days": s.days, "rows": s.size,
                                        "clicks": int(s.click.sum())}
                               for s in (dataset.train, dataset.validation, dataset.test)}),
                  fh, indent=2)
    if len({c.features for c in configs.values()}) == 1:
        dataset = transformed_dataset(dataset, first.features)
    durations: Dict[str, List[float]] = {}
    started = time.perf_counter()
    for i, (variant, seed) in enumerate(todo):
        path = run_dir(out_dir, variant, seed)
        if os.path.isdir(path):
            shutil.rmtree(path)  # an interrupted run: start it afresh
        tick = time.perf_counter()
        say(f"[{i + 1}/{len(todo)}] {variant} seed {seed}: training -> {path}")
        result = train_variant(dataset, configs[variant], path, seed=seed, progress=detail,
                               save_test_predictions=True)
        durations.setdefault(variant, []).append(time.perf_counter() - tick)
        test = result["metrics"]["test"]
        say(f"[{i + 1}/{len(todo)}] {variant} seed {seed}: done in "
            f"{_clock(durations[variant][-1])} (test CVR MSE {test['cvr_mse']:.5f}, CTR AUC "
            f"{test['ctr_auc']:.4f}); elapsed {_clock(time.perf_counter() - started)}, ETA "
            f"{_clock(_eta(durations, [v for v, _ in todo[i + 1:]]))}")
    return dirs
