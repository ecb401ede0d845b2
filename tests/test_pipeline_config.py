"""PipelineConfig / TrainingSettings: checked when built, and what the CLI flags make."""

import json

import pytest

from lt4rec.cli import build_parser
from lt4rec.commands.pipeline import _training
from lt4rec.pipeline.config import (BlessingConfig, PipelineConfig, TrainingSettings,
                                    load_overrides)


def test_training_settings_reject_bad_values_when_built():
    with pytest.raises(ValueError, match="window_days"):
        TrainingSettings(window_days=0)
    with pytest.raises(ValueError, match=r"`train_workers` must be >= 1. Received: "
                                         r"train_workers=0"):
        TrainingSettings(train_workers=0)
    with pytest.raises(ValueError, match="unknown variant"):
        TrainingSettings(variant="no_such_variant")
    with pytest.raises(ValueError):
        TrainingSettings(model_overrides={"trainer": {"no_such_knob": 1}})


def test_overrides_reach_the_model_config_and_the_components_json():
    settings = TrainingSettings(model_overrides={"trainer": {"epochs": 3}})
    assert settings.model_config().trainer.epochs == 3
    assert json.loads(settings.config_json) == {"trainer": {"epochs": 3}}
    assert TrainingSettings().config_json is None


def test_pipeline_config_needs_its_roots():
    with pytest.raises(ValueError, match="data_root"):
        PipelineConfig(pipeline_root="/tmp/p", data_root="")
    config = PipelineConfig(pipeline_root="/tmp/p", data_root="/tmp/d",
                            beam_pipeline_args=["--a=1"])
    assert config.beam_pipeline_args == ("--a=1",) and config.serving_root is None


def test_load_overrides_wants_a_json_object(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        load_overrides(str(path))
    path.write_text('{"pruning": {"rounds": 2}}')
    assert load_overrides(str(path)) == {"pruning": {"rounds": 2}}
    assert load_overrides(None) is None


def test_run_flags_make_the_training_settings(tmp_path):
    config = tmp_path / "c.json"
    config.write_text('{"trainer": {"epochs": 2}}')
    args = build_parser().parse_args([
        "pipeline", "run", "--data", "d", "--root", "r", "--variant", "hard_share",
        "--config", str(config), "--window", "3", "--regenerate-masks", "--seed", "7",
        "--blessing", '{"min_ctr_auc": 0.6}', "--train-workers", "2"])
    assert _training(args) == TrainingSettings(
        variant="hard_share", model_overrides={"trainer": {"epochs": 2}}, seed=7, window_days=3,
        regenerate_masks=True, blessing=BlessingConfig(min_ctr_auc=0.6), train_workers=2)


def test_compile_flags_make_default_training_settings():
    args = build_parser().parse_args(["pipeline", "compile", "--kubeflow", "--image", "i",
                                      "--out", "o.json"])
    assert _training(args) == TrainingSettings()
