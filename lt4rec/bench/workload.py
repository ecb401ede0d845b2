"""What the training benchmarks run on: simulated logs in a temp dir and the variants' configs.

Kept apart from the benchmarks so ``train``, ``masks`` and ``export`` measure the same data
and the same configs (``--config`` overrides, as ``lt4rec train --config``).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from typing import Iterator, List

from lt4rec.models.config import VARIANTS, load_config
from lt4rec.simulator import simulate

# The variants `lt4rec bench train` measures unless --variants says otherwise.
TRAIN_VARIANTS = ("single_task", "hard_share", "sparse_weight", "sparse_neuron", "mmoe", "esmm")
# The dense reference of the mask overhead: shared embeddings + cross, and per task an
# unmasked MLP with sNET's hidden units (plain x @ W + b, no mask multiply), same trainer.
DENSE_REFERENCE = "hard_share"


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="JSON of config overrides applied to every variant, as "
                                         "`lt4rec train --config`; e.g. "
                                         '{"trainer": {"distribution": "mirrored", '
                                         '"batch_size": 8192}} on GPUs')


def add_data_arguments(parser: argparse.ArgumentParser, days: int, rows_per_day: int) -> None:
    parser.add_argument("--days", type=int, default=days,
                        help=f"simulated days; the last is test, the one before validation, "
                             f"the rest train ({days})")
    parser.add_argument("--rows-per-day", type=int, default=rows_per_day,
                        help=f"simulated impressions per day ({rows_per_day:,})")
    parser.add_argument("--seed", type=int, default=0, help="simulator and training seed (0)")


def parse_variants(text: str) -> List[str]:
    """Comma-separated variant names, checked against ``models.config.VARIANTS``.

    Raises:
      ValueError: an unknown name (the message lists the known ones).
    """
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        raise ValueError(f"--variants: unknown or no variant(s) {unknown or text!r}; known: "
                         f"{sorted(VARIANTS)}")
    return names


def variant_config(variant: str, config_path: str = None):
    """``models.config.load_config``: the variant's preset plus the ``--config`` overrides."""
    return load_config(variant, config_path)


@contextlib.contextmanager
def simulated_logs(days: int, rows_per_day: int, seed: int) -> Iterator[str]:
    """A temp dir holding ``days`` simulated day folders (no ground truth); removed after."""
    if days < 1 or rows_per_day < 1:
        raise ValueError(f"--days and --rows-per-day must be >= 1. Received: days={days}, "
                         f"rows_per_day={rows_per_day}")
    with tempfile.TemporaryDirectory(prefix="lt4rec_bench_") as tmp:
        simulate(tmp, n_days=days, rows_per_day=rows_per_day, seed=seed, write_truth=False)
        yield tmp


def load_transformed(log_dir: str, config):
    """Validated day splits of ``log_dir`` with features preprocessed once (as train_variant).

    Returns:
      ``models.data.Dataset`` whose splits hold ``models.preprocess`` outputs.
    """
    from lt4rec.models.data import load_dataset, transformed_dataset  # deferred: TensorFlow

    return transformed_dataset(load_dataset(log_dir, config.trainer), config.features)
