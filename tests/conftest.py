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
