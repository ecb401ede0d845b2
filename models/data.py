"""Training data: validated logs -> day-based train/validation/test splits of tensors.

Rows come from ``lt4rec.schemas.validation.validate_logs`` (the same rules as ``lt4rec
validate``), so a training run accounts for every row it read. Splits follow the papers: the last
``test_days`` days are test, the ``validation_days`` before them validation, the rest train.
Each split keeps its columns as in-memory tensors; batches are gathered by index inside the
training step, so no Python object is built per example.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from lt4rec.models import preprocess as pp
from lt4rec.models.config import TrainerConfig
from lt4rec.models.features import raw_feature_spec
from lt4rec.schemas import labels, names
from lt4rec.schemas.validation import format_report, rules, validate_logs

SPLIT_NAMES = ("train", "validation", "test")


@dataclasses.dataclass
class Split:
    """One split's rows.

    Attributes:
      name: "train", "validation" or "test".
      days: the ISO dates it covers.
      features: raw model-input column -> [N] tensor (dtypes of ``raw_feature_spec``), or
        the transformed features of ``models.preprocess`` (from the pipeline's Transform).
      click: [N] float32 0/1.
      ratio: [N] float32 watch ratio, 0 where click = 0.
      clicked_index: [N_click] int32 rows with a click (the CVR task's samples).
    """
    name: str
    days: List[str]
    features: Dict[str, tf.Tensor]
    click: np.ndarray
    ratio: np.ndarray
    clicked_index: np.ndarray

    @property
    def size(self) -> int:
        return int(len(self.click))


def make_split(name: str, days: List[str], columns: Dict[str, np.ndarray]) -> Split:
    """Builds a ``Split`` from typed log columns (as validation returns them)."""
    spec = raw_feature_spec()
    feats = {}
    for col, s in spec.items():
        values = columns[col]
        if s.dtype == tf.string:
            values = np.asarray(values, dtype=object).astype(str)
        feats[col] = tf.constant(values, dtype=s.dtype)
    click = np.asarray(columns[names.CLICK], np.float32)
    ratio = labels.watch_ratio_column(columns[names.WATCH_TIME_S],
                                      columns[names.VIDEO_LENGTH_S], columns[names.CLICK])
    return Split(name, days, feats, click, ratio, np.flatnonzero(click > 0).astype(np.int32))


def make_transformed_split(name: str, days: List[str], columns: Dict[str, np.ndarray]) -> Split:
    """Builds a ``Split`` from tf.Transform outputs (``models.preprocess.preprocess``)."""
    label_names = (pp.CLICK_XF, pp.WATCH_RATIO_XF)
    missing = [n for n in label_names if n not in columns]
    if missing:
        raise ValueError(f"transformed examples of split {name!r} lack the labels {missing}; "
                         f"they hold {sorted(columns)}")
    feats = {k: tf.constant(v) for k, v in columns.items() if k not in label_names}
    click = np.asarray(columns[pp.CLICK_XF], np.float32)
    ratio = np.where(click > 0, np.asarray(columns[pp.WATCH_RATIO_XF], np.float32), 0.0)
    return Split(name, days, feats, click, ratio.astype(np.float32),
                 np.flatnonzero(click > 0).astype(np.int32))


def transformed_split(split: Split, config) -> Split:
    """``split`` with its raw features replaced by ``models.preprocess.preprocess``'s outputs
    (computed once here instead of in every training step); unchanged if already transformed.

    Args:
      split: a Split of raw (or transformed) features.
      config: the ``FeatureConfig`` the model is built with.
    """
    if pp.is_transformed(split.features):
        return split
    return dataclasses.replace(split, features=pp.preprocess(split.features, config))


def transformed_dataset(dataset: "Dataset", config) -> "Dataset":
    """``dataset`` with every split through ``transformed_split`` (preprocessed once).

    Args:
      dataset: a Dataset of raw (or already transformed) splits.
      config: the ``FeatureConfig`` the model is built with.
    """
    return dataclasses.replace(dataset, **{name: transformed_split(getattr(dataset, name), config)
                                           for name in SPLIT_NAMES})


@dataclasses.dataclass
class Dataset:
    """Train/validation/test splits plus the row accounting of the logs they came from."""
    train: Split
    validation: Split
    test: Split
    accounting: Dict[str, object]


def split_days(days: List[str], config: TrainerConfig) -> Tuple[List[str], List[str], List[str]]:
    """(train, validation, test) day lists; raises ValueError when there are too few days."""
    need = config.validation_days + config.test_days + 1
    if len(days) < need:
        raise ValueError(f"day-based splits need at least {need} days (train + "
                         f"{config.validation_days} validation + {config.test_days} test); "
                         f"the logs hold {len(days)}: {days}")
    test = days[-config.test_days:]
    val = days[-(config.test_days + config.validation_days):-config.test_days]
    return days[:len(days) - len(test) - len(val)], val, test


def load_dataset(data_dir: str, config: TrainerConfig, max_reject_fraction: float = 0.0,
                 quarantine_dir: Optional[str] = None) -> Dataset:
    """Validates the logs under ``data_dir`` and splits the accepted rows by day.

    Raises:
      ValueError: more than ``max_reject_fraction`` of rows rejected (the message gives counts
        and the quarantine file), or too few days.
    """
    result = validate_logs(data_dir, report_dir=quarantine_dir, use_tfdv=False)
    accounting = {"rows_read": result.rows_read, "rows_accepted": result.rows_accepted,
                  "rows_rejected": result.rows_rejected, "quarantine": result.quarantine_path}
    rejected = result.rows_rejected / max(result.rows_read, 1)
    file_level = [a for a in result.anomalies if a.code in (
        rules.MISSING_COLUMN, rules.EXTRA_COLUMN, rules.COLUMN_ORDER, rules.EMPTY_FILE)]
    if rejected > max_reject_fraction or file_level:
        raise ValueError(f"{data_dir}: {result.rows_rejected} of {result.rows_read} rows "
                         f"rejected ({rejected:.2%} > allowed {max_reject_fraction:.2%}):\n"
                         + format_report(result))
    days_per_row = result.accepted_days.astype(str)
    days = sorted(set(days_per_row) - {"NaT"})
    train_days, val_days, test_days = split_days(days, config)

    def take(name, wanted):
        keep = np.isin(days_per_row, wanted)
        return make_split(name, wanted, {k: v[keep] for k, v in result.accepted.items()})

    return Dataset(take("train", train_days), take("validation", val_days),
                   take("test", test_days), accounting)
