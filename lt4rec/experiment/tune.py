"""Equal tuning budget for every variant: one KerasTuner search per variant (``models.tuning``).

Layout under the tuning directory OUT::

  OUT/search/VARIANT/         KerasTuner's project (oracle.json, trial_*/trial.json): a killed
                              search resumes where it stopped (finished trials are kept)
  OUT/search/VARIANT.json     what the search was started with (checked on resume)
  OUT/configs/VARIANT.json    the best trial's knobs as config overrides (``--config`` format,
                              ``models.config.load_config``); ``lt4rec experiment --tuned-dir
                              OUT`` trains each variant with its file
  OUT/tuning_report.json      per variant: knobs, every trial (values, validation metrics,
                              rejected or not), the best trial, the defaults trial
  OUT/tuning_trials.png       validation CVR MSE per trial and variant

Only the training and validation days are read (``models.tuning.load_tuning_splits``); the
test days are read once per final run, by ``lt4rec experiment``.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Dict, Optional, Sequence

from lt4rec.experiment.runner import make_configs
from lt4rec.experiment.tuned import tuned_config_path
from lt4rec.models.search_space import describe, knobs_for, overrides_from_values

SEARCH_DIR = "search"
REPORT_JSON = "tuning_report.json"
REPORT_PNG = "tuning_trials.png"


def _check_same_search(path: str, started_with: Dict) -> None:
    """Raises ValueError when a search under ``path`` was started with other settings."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            stored = json.load(fh)
        if stored != started_with:
            differ = sorted(k for k in started_with if stored.get(k) != started_with[k])
            raise ValueError(f"{path}: this search was started with other settings ({differ} "
                             f"differ); use another --out or delete that search")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(started_with, fh, indent=2)


def tune_variant(config, splits, out_dir: str, trials: int, seed: int, oracle: str,
                 auc_margin: float, knobs=None, say=print, detail=None) -> Dict:
    """Runs (or resumes) one variant's search; writes its best config; returns its summary."""
    from lt4rec.models import tuning  # deferred: TensorFlow, KerasTuner

    started_with = json.loads(json.dumps({
        "config": config.to_dict(), "seed": seed, "oracle": oracle, "auc_margin": auc_margin,
        "knobs": [k.name for k in knobs_for(config, knobs)]}))
    _check_same_search(os.path.join(out_dir, SEARCH_DIR, f"{config.variant}.json"),
                       started_with)
    tuner = tuning.make_tuner(config, os.path.join(out_dir, SEARCH_DIR), trials, seed, oracle,
                              auc_margin, knobs, say=say, detail=detail)
    if tuner.remaining_trials:
        tuner.search(splits=splits)
    records = tuning.trial_records(tuner)
    completed = [r for r in records if r[tuning.OBJECTIVE] is not None]
    if not completed:
        raise RuntimeError(f"{config.variant}: no trial completed; see the trial messages "
                           f"under {os.path.join(out_dir, SEARCH_DIR, config.variant)}")
    best = min(completed, key=lambda r: r[tuning.OBJECTIVE])
    overrides = overrides_from_values(config, best["values"])
    path = tuned_config_path(out_dir, config.variant)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(overrides, fh, indent=2)
    return {"knobs": describe(knobs_for(config, knobs)), "trials": records,
            "budget": trials, "completed": len(completed),
            "defaults_trial": records[0]["trial_id"], "best_trial": best["trial_id"],
            "best_values": best["values"], "best_overrides": overrides, "config_file": path,
            "reference_val_ctr_auc": records[0]["val_ctr_auc"],
            "best_vs_defaults_val_cvr_mse_rel": (
                best["val_cvr_mse"] / records[0]["val_cvr_mse"] - 1.0
                if records[0]["val_cvr_mse"] else None)}


def run_tuning(data_dir: str, variants: Sequence[str], trials: int, out_dir: str,
               overrides: Optional[Dict] = None, seed: int = 0, oracle: str = "random",
               auc_margin: float = 0.001, knobs: Optional[Sequence[str]] = None,
               say: Callable[[str], None] = print,
               detail: Optional[Callable[[str], None]] = None,
               max_reject_fraction: float = 0.0) -> Dict:
    """Tunes every variant with the same budget and seed; writes configs and the report.

    Returns:
      The dict written to ``tuning_report.json``.
    """
    import lt4rec  # noqa: F401  # deferred: TF_USE_LEGACY_KERAS before TensorFlow
    from lt4rec.models import tuning  # deferred: TensorFlow, KerasTuner

    configs = make_configs(variants, overrides)
    first = configs[variants[0]]
    splits = tuning.load_tuning_splits(data_dir, first.trainer, max_reject_fraction,
                                       quarantine_dir=os.path.join(out_dir, "validation"))
    say(f"tuning {len(variants)} variants x {trials} trials on train {splits.train.days} "
        f"({splits.train.size:,} rows), validation {splits.validation.days} "
        f"({splits.validation.size:,}); test days not read")
    if len({c.features for c in configs.values()}) == 1:
        splits = tuning.transformed(splits, first)
    report = {"data_dir": os.path.abspath(data_dir), "trials_per_variant": trials,
              "seed": seed, "oracle": oracle, "auc_margin": auc_margin,
              "objective": tuning.OBJECTIVE, "objective_definition": (
                  "validation CVR MSE; trials whose validation CTR AUC is more than auc_margin "
                  "below the variant's defaults trial (trial 0) get +1 (rejected)"),
              "base_overrides": overrides or {},
              "splits": {"train": splits.train.days, "validation": splits.validation.days},
              "variants": {}}
    for variant in variants:
        report["variants"][variant] = tune_variant(configs[variant], splits, out_dir, trials,
                                                   seed, oracle, auc_margin, knobs, say, detail)
        _write_report(out_dir, report)
    return report


def _write_report(out_dir: str, report: Dict) -> None:
    with open(os.path.join(out_dir, REPORT_JSON), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2, default=float)
    plot_trials(report["variants"], os.path.join(out_dir, REPORT_PNG))


def plot_trials(variants: Dict[str, Dict], path: str) -> str:
    """Validation CVR MSE per trial, one panel per variant: the defaults trial (dashed line),
    rejected trials (red x, CTR AUC guard), the best trial (star)."""
    import matplotlib  # deferred: plotting only
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: plotting only

    fig, axes = plt.subplots(1, len(variants), figsize=(4 * len(variants), 3.2), squeeze=False)
    for ax, (variant, info) in zip(axes[0], variants.items()):
        done = [(i, r) for i, r in enumerate(info["trials"]) if r["val_cvr_mse"] is not None]
        for i, r in done:
            ax.plot(i, r["val_cvr_mse"], "x" if r["rejected"] else "o",
                    color="tab:red" if r["rejected"] else "tab:blue")
            if r["trial_id"] == info["best_trial"]:
                ax.plot(i, r["val_cvr_mse"], "*", color="gold", markersize=14,
                        markeredgecolor="k", label="best")
        if done and done[0][0] == 0:
            ax.axhline(done[0][1]["val_cvr_mse"], ls="--", color="grey", label="defaults")
        ax.set_title(variant)
        ax.set_xlabel("trial")
        ax.set_ylabel("validation CVR MSE")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
