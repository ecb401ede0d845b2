"""Shared fixtures: a small simulated log, generated once per session."""

import pytest

import lt4rec  # noqa: F401  (TF_USE_LEGACY_KERAS before anything imports TensorFlow)
from lt4rec.simulator import SimulatorConfig, simulate

SMALL_WORLD = SimulatorConfig(n_users=3000, n_items=1500)


@pytest.fixture(scope="session")
def small_logs(tmp_path_factory):
    """Two days x 5000 rows of simulated logs (seed 3), with ground truth."""
    root = tmp_path_factory.mktemp("logs")
    simulate(str(root), n_days=2, rows_per_day=5000, seed=3, config=SMALL_WORLD)
    return root


# A config shrunk for tests: small tables and nets, two pruning rounds, short training.
TINY_OVERRIDES = {
    "features": {"embedding_dim": 4, "user_buckets": 503, "item_buckets": 503,
                 "category_buckets": 31, "tag_buckets": 101},
    "model": {"hidden_units": [16, 8], "tower_units": [4]},
    "pruning": {"rounds": 3, "warmup_epochs": 0.5, "q": 0.3},
    "trainer": {"epochs": 1, "batch_size": 256, "learning_rate": 0.01},
}


def tiny_config(variant, **sections):
    """The production config of ``variant`` shrunk by TINY_OVERRIDES (plus ``sections``)."""
    from lt4rec.models.config import make_config
    overrides = {k: dict(v) for k, v in TINY_OVERRIDES.items()}
    for key, values in sections.items():
        overrides.setdefault(key, {}).update(values)
    if variant in ("mmoe", "ple"):
        overrides["model"]["hidden_units"] = [8]
    return make_config(variant, overrides)


@pytest.fixture(scope="session")
def tiny_logs(tmp_path_factory):
    """Four days x 800 rows: train (2 days), validation, test."""
    root = tmp_path_factory.mktemp("tiny_logs")
    simulate(str(root), n_days=4, rows_per_day=800, seed=5, config=SMALL_WORLD)
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tiny_logs):
    from lt4rec.models.config import TrainerConfig
    from lt4rec.models.data import load_dataset
    return load_dataset(str(tiny_logs), TrainerConfig())
