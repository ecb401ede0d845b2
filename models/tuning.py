"""Hyper-parameter search of one variant with KerasTuner, on training and validation days only.

A *trial* is one training run of the recipe of ``models.run.train_variant`` minus its test
evaluation and exports (``fit_and_validate``): build the model; for sparse variants, Algorithm 1
trains on the training split and picks rounds on the validation split; final training; metrics
on the validation split. Every trial of a search uses the same training seed, so trials differ
only by their hyper-parameters.

Objective (minimised): validation CVR MSE, with a CTR AUC guard. The search's first trial is
the variant as configured (``DefaultsFirst``); its validation CTR AUC is the reference. A trial
whose validation CTR AUC is more than ``auc_margin`` below the reference is *rejected*: its
objective is its CVR MSE + 1. A CVR MSE of a watch ratio in [0, 1] with sigmoid predictions is
at most 1, so every rejected trial ranks after every accepted one (and after the defaults),
while the oracle still sees how bad it was. The best trial is therefore never worse than the
configured variant on validation CVR MSE, and never loses more than ``auc_margin`` CTR AUC.

The test split cannot reach a search: ``TuningSplits`` has no test field, and
``load_tuning_splits`` never opens a test day's log files.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import keras_tuner
import tensorflow as tf
from keras_tuner.engine import base_tuner

from lt4rec.models.config import LT4RecConfig, TrainerConfig
from lt4rec.models.data import Split, make_split, split_days, transformed_split
from lt4rec.models.distribution import make_strategy
from lt4rec.models.lottery import search_masks
from lt4rec.models.ranker import build_model
from lt4rec.models.search_space import apply_values, declare_space
from lt4rec.models.tasks import CTR, CVR, evaluate_predictions
from lt4rec.models.training import Trainer, predict
from lt4rec.schemas import logs

OBJECTIVE = "guarded_val_cvr_mse"
REJECTED_OFFSET = 1.0
ORACLES = ("random", "bayesian")


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """How one variant's search runs (``lt4rec tune`` flags; the pipeline's Tuner settings).

    Attributes:
      trials: trials per variant (every variant gets the same number).
      oracle: ``random`` (random search) or ``bayesian`` (Gaussian-process optimisation).
      auc_margin: trials losing more validation CTR AUC than this against trial 0 are rejected.
      knobs: knob names to search (None: every knob of the variant's families).
    """
    trials: int = 10
    oracle: str = "random"
    auc_margin: float = 0.001
    knobs: Optional[Tuple[str, ...]] = None

    def __post_init__(self):
        if self.oracle not in ORACLES:
            raise ValueError(f"`oracle` must be one of {ORACLES}. Received: "
                             f"oracle={self.oracle!r}")
        if self.trials < 1 or self.auc_margin < 0:
            raise ValueError(f"`trials` must be >= 1 and `auc_margin` >= 0. Received: "
                             f"trials={self.trials}, auc_margin={self.auc_margin}")


@dataclasses.dataclass(frozen=True)
class TuningSplits:
    """Everything a search may read: training and validation rows (no test split exists here)."""
    train: Split
    validation: Split


def load_tuning_splits(data_dir: str, trainer: TrainerConfig, max_reject_fraction: float = 0.0,
                       quarantine_dir: Optional[str] = None) -> TuningSplits:
    """Validates and splits the logs of the training and validation days only.

    The days are split as ``models.data.load_dataset`` splits them; the test days' files are
    never opened (their folder names are only counted).

    Raises:
      ValueError: too few days, or more than ``max_reject_fraction`` of rows rejected.
    """
    from lt4rec.schemas.validation import format_report, rules, validate_logs  # deferred: TFDV

    found = [(f, d.strftime(logs.DAY_FORMAT)) for f, d in logs.find_log_files(data_dir)
             if d is not None]
    train_days, val_days, _ = split_days(sorted({d for _, d in found}), trainer)
    result = validate_logs([f for f, d in found if d in set(train_days + val_days)],
                           report_dir=quarantine_dir, use_tfdv=False)
    file_level = [a for a in result.anomalies if a.code in (
        rules.MISSING_COLUMN, rules.EXTRA_COLUMN, rules.COLUMN_ORDER, rules.EMPTY_FILE)]
    if result.rows_rejected > max_reject_fraction * max(result.rows_read, 1) or file_level:
        raise ValueError(f"{data_dir}: {result.rows_rejected} of {result.rows_read} rows of the "
                         f"training and validation days rejected:\n" + format_report(result))
    days = result.accepted_days.astype(str)

    def take(name, wanted):
        keep = [d in set(wanted) for d in days]
        return make_split(name, wanted, {k: v[keep] for k, v in result.accepted.items()})

    return TuningSplits(take("train", train_days), take("validation", val_days))


def transformed(splits: TuningSplits, config: LT4RecConfig) -> TuningSplits:
    """``splits`` preprocessed once (``models.data.transformed_split``) for every trial."""
    return TuningSplits(transformed_split(splits.train, config.features),
                        transformed_split(splits.validation, config.features))


def fit_and_validate(config: LT4RecConfig, splits: TuningSplits, seed: int = 0,
                     progress: Optional[Callable[[str], None]] = None) -> Dict[str, float]:
    """One trial: the training recipe of ``models.run`` scored on the validation split.

    Returns:
      ``evaluate_predictions`` of the validation split (ctr_auc, cvr_mse, ...).
    """
    tf.keras.utils.set_random_seed(seed)
    train = transformed_split(splits.train, config.features)
    validation = transformed_split(splits.validation, config.features)
    with make_strategy(config.trainer).scope():
        model = build_model(config, train.features)
        epochs = config.trainer.epochs
        if model.masked_layers:
            search_masks(model, config, train, validation, seed, progress)
        else:
            epochs += config.pruning.warmup_epochs
        Trainer(model, config, train, seed=seed).fit(epochs, progress=progress, label="trial")
        p = predict(model, validation, batch_size=config.trainer.eval_batch_size)
    return evaluate_predictions(validation.click, validation.ratio, p[CTR], p[CVR],
                                config.trainer.effective_view_ratio)


class _DefaultsFirst:
    """Oracle mix-in: the first trial takes every hyper-parameter's default (the config as
    given), the rest come from the oracle's own strategy."""

    def populate_space(self, trial_id):
        if not self.trials:
            return {"status": keras_tuner.engine.trial.TrialStatus.RUNNING,
                    "values": {hp.name: hp.default for hp in self.hyperparameters.space}}
        return super().populate_space(trial_id)


class DefaultsFirstRandomSearch(_DefaultsFirst, keras_tuner.oracles.RandomSearchOracle):
    """Random search whose trial 0 is the configured variant."""


class DefaultsFirstBayesian(_DefaultsFirst, keras_tuner.oracles.BayesianOptimizationOracle):
    """Gaussian-process Bayesian optimisation whose trial 0 is the configured variant."""


class VariantTuner(base_tuner.BaseTuner):
    """A KerasTuner tuner whose trial is ``fit_and_validate`` (no Keras ``fit``, no saved model).

    ``search(splits=TuningSplits(...))`` runs the trials; ``search`` refuses anything else.
    """

    def __init__(self, config: LT4RecConfig, oracle, directory: str, project_name: str,
                 seed: int = 0, auc_margin: float = 0.001,
                 say: Optional[Callable[[str], None]] = None,
                 detail: Optional[Callable[[str], None]] = None):
        self.config, self.seed, self.auc_margin = config, seed, auc_margin
        self.say, self.detail = say or (lambda _m: None), detail
        super().__init__(oracle=oracle, directory=directory, project_name=project_name,
                         overwrite=False)

    def run_trial(self, trial, splits: TuningSplits) -> Dict[str, float]:
        if not isinstance(splits, TuningSplits):
            raise keras_tuner.errors.FatalTypeError(
                f"a search takes `splits=TuningSplits(train, validation)` (no test split). "
                f"Received: {type(splits).__name__}")
        started = time.perf_counter()
        config = apply_values(self.config, trial.hyperparameters.values)
        metrics = fit_and_validate(config, splits, self.seed, self.detail)
        reference = self.reference_auc(trial.trial_id, metrics["ctr_auc"])
        rejected = reference is not None and metrics["ctr_auc"] < reference - self.auc_margin
        return {OBJECTIVE: metrics["cvr_mse"] + (REJECTED_OFFSET if rejected else 0.0),
                "val_cvr_mse": metrics["cvr_mse"], "val_ctr_auc": metrics["ctr_auc"],
                "rejected": float(rejected), "seconds": time.perf_counter() - started}

    def reference_auc(self, trial_id: str, own_auc: float) -> Optional[float]:
        """Validation CTR AUC of the search's first trial (the configured variant); None when
        that trial did not complete (then no trial is rejected)."""
        first = self.oracle.start_order[0]
        if trial_id == first:
            return own_auc
        return self.oracle.get_trial(first).metrics.get_last_value("val_ctr_auc")

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        done = len(self.oracle.trials)
        metrics = trial.metrics
        if trial.status != keras_tuner.engine.trial.TrialStatus.COMPLETED:
            self.say(f"{self.project_name}: trial {done}/{self.oracle.max_trials} "
                     f"{trial.status}: {(trial.message or '').strip().splitlines()[-1:]}")
            return
        best = self.oracle.get_best_trials(1)[0]
        self.say(f"{self.project_name}: trial {done}/{self.oracle.max_trials} val CVR MSE "
                 f"{metrics.get_last_value('val_cvr_mse'):.5f}, CTR AUC "
                 f"{metrics.get_last_value('val_ctr_auc'):.4f}"
                 f"{' (rejected: CTR AUC guard)' if metrics.get_last_value('rejected') else ''}"
                 f" in {metrics.get_last_value('seconds'):.0f} s; best so far trial "
                 f"{best.trial_id} ({best.score:.5f})")

    def save_model(self, trial_id, model, step=0):
        """Trials keep no model: the final runs retrain the best config."""

    def load_model(self, trial):
        raise NotImplementedError("trials keep no model; retrain the best config")


def make_tuner(config: LT4RecConfig, directory: str, trials: int, seed: int = 0,
               oracle: str = "random", auc_margin: float = 0.001,
               knobs: Optional[Iterable[str]] = None, project_name: Optional[str] = None,
               say: Optional[Callable[[str], None]] = None,
               detail: Optional[Callable[[str], None]] = None) -> VariantTuner:
    """The search of ``config.variant``: ``trials`` trials over its knobs, oracle seeded.

    Resumes the search in ``directory/project_name`` when one is there (KerasTuner's project
    directory, ``overwrite=False``); finished trials are not run again.

    Raises:
      ValueError: an unknown oracle, a budget below 1, or a negative margin.
    """
    SearchConfig(trials, oracle, auc_margin)  # validates
    hp = keras_tuner.HyperParameters()
    declare_space(hp, config, knobs)
    cls = DefaultsFirstRandomSearch if oracle == "random" else DefaultsFirstBayesian
    search = cls(objective=keras_tuner.Objective(OBJECTIVE, "min"), max_trials=trials,
                 seed=seed, hyperparameters=hp, allow_new_entries=False)
    search.verbose = 0  # the tuner prints one line per trial instead
    return VariantTuner(config, search, directory, project_name or config.variant, seed,
                        auc_margin, say, detail)


def trial_records(tuner: VariantTuner) -> List[Dict]:
    """Every trial of a search in start order: id, status, values and metrics."""
    out = []
    for trial_id in tuner.oracle.start_order:
        trial = tuner.oracle.get_trial(trial_id)
        metrics = {name: trial.metrics.get_last_value(name)
                   for name in (OBJECTIVE, "val_cvr_mse", "val_ctr_auc", "rejected", "seconds")}
        out.append({"trial_id": trial_id, "status": trial.status,
                    "values": dict(trial.hyperparameters.values), **metrics})
    return out
