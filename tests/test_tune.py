"""Equal-budget tuning (models/tuning.py, lt4rec tune, lt4rec experiment --tuned-dir).

Most tests replace the trial's training (``tuning.fit_and_validate``) with a scripted score so
the search logic is checked by hand in milliseconds; one e2e test trains for real.
"""

import json
import os
import shutil

import keras_tuner
import pytest
from conftest import TINY_OVERRIDES

from lt4rec.experiment import runner, tune
from lt4rec.experiment.tuned import TUNED_FILE, tuned_config_path
from lt4rec.models import tuning
from lt4rec.models.config import TrainerConfig, load_config, make_config
from lt4rec.models.data import load_dataset


def scripted_trial(calls):
    """A fake trial: CVR MSE = learning rate; CTR AUC 0.70, but 0.69 on every second trial
    after the defaults (trials 1, 3, 5, ...), so both outcomes occur whatever the oracle draws."""
    def fake(config, splits, seed=0, progress=None):
        assert isinstance(splits, tuning.TuningSplits)
        calls.append(config)
        return {"cvr_mse": config.trainer.learning_rate,
                "ctr_auc": 0.69 if len(calls) % 2 == 0 else 0.70}
    return fake


@pytest.fixture
def splits(tiny_logs):
    return tuning.load_tuning_splits(str(tiny_logs), TrainerConfig())


def test_test_days_are_never_opened(tiny_logs, tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(tiny_logs, logs)
    test_day = sorted(d for d in os.listdir(logs) if d[0].isdigit())[-1]
    for name in os.listdir(logs / test_day):  # the test day is garbage now
        (logs / test_day / name).write_text("not,a,log\n1,2,3\n")
    got = tuning.load_tuning_splits(str(logs), TrainerConfig())
    assert test_day not in got.train.days + got.validation.days
    assert got.train.size == 1600 and got.validation.size == 800
    assert not hasattr(got, "test")
    with pytest.raises(ValueError):  # whereas reading every day fails on it
        load_dataset(str(logs), TrainerConfig())
    first_day = sorted(d for d in os.listdir(logs) if d[0].isdigit())[0]
    for name in os.listdir(logs / first_day):  # a broken training day is an error
        (logs / first_day / name).write_text("not,a,log\n1,2,3\n")
    with pytest.raises(ValueError, match="rejected"):
        tuning.load_tuning_splits(str(logs), TrainerConfig())


def test_first_trial_is_the_configured_variant(tmp_path):
    config = make_config("sparse_weight", {"trainer": {"learning_rate": 0.02}})
    hp = keras_tuner.HyperParameters()
    tuning.declare_space(hp, config)
    oracle = tuning.DefaultsFirstRandomSearch(
        objective=keras_tuner.Objective(tuning.OBJECTIVE, "min"), max_trials=3, seed=1,
        hyperparameters=hp)
    oracle._set_project_dir(str(tmp_path), "defaults_first")
    first = oracle.create_trial("t0").hyperparameters.values
    assert first["trainer.learning_rate"] == 0.02 and first["pruning.rounds"] == 5


@pytest.mark.parametrize("oracle", ["random", "bayesian"])
def test_guard_rejects_trials_that_lose_ctr_auc_and_never_picks_them(splits, tmp_path,
                                                                      monkeypatch, oracle):
    calls = []
    monkeypatch.setattr(tuning, "fit_and_validate", scripted_trial(calls))
    config = make_config("single_task", {"trainer": {"learning_rate": 0.005}})
    summary = tune.tune_variant(config, splits, str(tmp_path), trials=6, seed=0,
                                oracle=oracle, auc_margin=0.005, say=lambda m: None)
    trials = summary["trials"]
    assert len(calls) == 6 and trials[0]["val_cvr_mse"] == 0.005  # trial 0 = defaults
    lose_auc = {c.trainer.learning_rate for i, c in enumerate(calls) if i % 2 == 1}
    for t in trials:
        rejected = t["val_cvr_mse"] in lose_auc  # AUC 0.69 < 0.70 - 0.005
        assert t["rejected"] == float(rejected)
        assert t[tuning.OBJECTIVE] == pytest.approx(t["val_cvr_mse"] + rejected)
    accepted = [t for t in trials if not t["rejected"]]
    assert len(accepted) == 3  # trials 0, 2, 4
    best = min(accepted, key=lambda t: t["val_cvr_mse"])
    assert summary["best_trial"] == best["trial_id"]
    tuned = load_config("single_task", summary["config_file"])
    assert tuned.trainer.learning_rate == pytest.approx(best["val_cvr_mse"])


def test_search_resumes_without_rerunning_finished_trials(splits, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(tuning, "fit_and_validate", scripted_trial(calls))
    config = make_config("hard_share")
    first = tune.tune_variant(config, splits, str(tmp_path), 2, 0, "random", 0.001,
                              say=lambda m: None)
    again = tune.tune_variant(config, splits, str(tmp_path), 3, 0, "random", 0.001,
                              say=lambda m: None)
    assert len(calls) == 3  # 2, then only the third
    assert [t["values"] for t in again["trials"][:2]] == [t["values"] for t in first["trials"]]
    with pytest.raises(ValueError, match="seed"):
        tune.tune_variant(config, splits, str(tmp_path), 3, 1, "random", 0.001)


def test_a_search_refuses_data_with_a_test_split(tiny_dataset, tmp_path):
    tuner = tuning.make_tuner(make_config("single_task"), str(tmp_path), 1)
    with pytest.raises(keras_tuner.errors.FatalTypeError, match="no test split"):
        tuner.search(splits=tiny_dataset)


def test_experiment_uses_tuned_configs_where_present(tmp_path):
    tuned_dir = tmp_path / "tuned"
    os.makedirs(tuned_dir / "configs")
    (tuned_dir / "configs" / "mmoe.json").write_text(json.dumps(
        {"model": {"num_experts": 8}, "trainer": {"learning_rate": 0.003}}))
    overrides = {"trainer": {"epochs": 2, "learning_rate": 0.1}}
    configs = runner.make_configs(["mmoe", "single_task"], overrides, str(tuned_dir))
    assert configs["mmoe"].model.num_experts == 8
    assert configs["mmoe"].trainer.learning_rate == 0.003 and configs["mmoe"].trainer.epochs == 2
    assert configs["single_task"].trainer.learning_rate == 0.1
    with pytest.raises(FileNotFoundError, match="configs"):
        runner.make_configs(["mmoe"], None, str(tmp_path / "nowhere"))


@pytest.mark.e2e
def test_tune_cli_writes_loadable_configs_report_and_plot(tiny_logs, tmp_path):
    from lt4rec.cli import main
    config = {k: dict(v) for k, v in TINY_OVERRIDES.items()}
    config["pruning"].update(rounds=2, warmup_epochs=0.25)
    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps(config))
    out = tmp_path / "tuned"
    assert main(["tune", "--data", str(tiny_logs), "--variants", "single_task,sparse_weight",
                 "--trials", "2", "--out", str(out), "--config", str(config_path),
                 "--knobs", "trainer.learning_rate,pruning.q", "--quiet"]) == 0
    report = json.loads((out / tune.REPORT_JSON).read_text())
    assert (out / tune.REPORT_PNG).stat().st_size > 0
    for variant in ("single_task", "sparse_weight"):
        info = report["variants"][variant]
        assert info["budget"] == 2 and info["completed"] == 2
        assert info["trials"][0]["values"]["trainer.learning_rate"] == 0.01  # the defaults
        loaded = load_config(variant, tuned_config_path(str(out), variant))
        assert loaded.trainer.learning_rate == info["best_values"]["trainer.learning_rate"]
    assert "pruning.q" in report["variants"]["sparse_weight"]["best_values"]
    assert "pruning.q" not in report["variants"]["single_task"]["best_values"]
    assert report["splits"]["validation"] == ["2026-11-03"] and "test" not in report["splits"]
