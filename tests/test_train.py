"""Training runs: every variant takes a real step on the shrunk config; the CLI end to end."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from lt4rec.models.config import VARIANTS, make_config
from lt4rec.models.ranker import build_model
from lt4rec.models.training import Trainer

from conftest import TINY_OVERRIDES, tiny_config


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_trains_a_step(tiny_dataset, variant):
    config = tiny_config(variant)
    model = build_model(config, tiny_dataset.train.features)
    before = [w.copy() for w in model.get_weights()]
    trainer = Trainer(model, config, tiny_dataset.train)
    losses = trainer.fit(0.2)
    assert all(math.isfinite(v) for v in losses.values())
    assert any(np.any(a != b) for a, b in zip(before, model.get_weights()))
    # gradient balance: one entry per task, a norm only where something is shared
    shared = bool(model.shared_variables)
    assert shared == (config.model.sharing != "none")
    for task, steps in ((t, len(v)) for t, v in trainer.step_losses.items()):
        g = trainer.shared_gradients[task]
        assert g["steps"] == steps > 0 and (g["grad_norm_sum"] > 0) == shared


def test_unknown_variant_and_setting_are_named():
    with pytest.raises(ValueError, match="no_such"):
        make_config("no_such")
    with pytest.raises(ValueError, match="hiden_units"):
        make_config("hard_share", {"model": {"hiden_units": [3]}})
    with pytest.raises(ValueError, match="sharing='star'"):
        make_config("hard_share", {"model": {"sharing": "star"}})


@pytest.mark.e2e
def test_train_cli_writes_metrics_exports_and_plots(tiny_logs, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(TINY_OVERRIDES))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "lt4rec.cli", "train", "--data", str(tiny_logs),
                           "--variant", "sparse_neuron", "--out", str(out), "--config",
                           str(config), "--seed", "3"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CTR AUC" in proc.stdout and "mask search" in proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    for split in ("train", "validation", "test"):
        m = metrics["metrics"][split]
        assert 0 <= m["ctr_auc"] <= 1 and 0 <= m["cvr_mse"] <= 1 and 0 <= m["ctcvr_auc"] <= 1
    assert metrics["metrics"]["test"]["days"] == ["2026-11-04"]
    assert metrics["data"]["rows_read"] == metrics["data"]["rows_accepted"] == 3200
    assert len(metrics["mask_search"]["tasks"]["ctr"]["rounds"]) == 3
    assert {"shared", "ctr_only", "cvr_only", "pruned_by_both"} <= set(
        metrics["mask_statistics"][0])
    for name in ("pctr", "pcvr", "combined"):
        assert os.path.exists(out / "export" / name / "saved_model.pb")
    for png in ("pruning_curves.png", "mask_overlap.png"):
        assert (out / png).stat().st_size > 1000


def test_too_few_days_is_a_clear_error(small_logs, tmp_path):
    from lt4rec.models.config import TrainerConfig
    from lt4rec.models.data import load_dataset
    with pytest.raises(ValueError, match="at least 3 days"):
        load_dataset(str(small_logs), TrainerConfig())
