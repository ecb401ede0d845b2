"""The one table of tuning knobs (models/search_space.py): who searches what, and how values
become config overrides."""

import json

import keras_tuner
import pytest

from lt4rec.models import search_space as ss
from lt4rec.models.config import load_config, make_config


def _names(config, **kwargs):
    return [k.name for k in ss.knobs_for(config, **kwargs)]


def test_each_variant_family_searches_its_own_knobs():
    single = _names(make_config("single_task"))
    sparse = _names(make_config("sparse_weight"))
    mmoe = _names(make_config("mmoe"))
    assert "trainer.learning_rate" in single and "loss.ctr_weight" in single
    assert not any(n.startswith("pruning.") for n in single)
    assert {"pruning.rounds", "pruning.q", "pruning.scope", "pruning.warmup_epochs",
            "pruning.min_sparsity", "pruning.tolerance"} <= set(sparse)
    assert {"model.num_experts", "model.tower_units.scale"} <= set(mmoe)
    assert "model.num_experts" not in sparse


def test_knobs_a_variant_preset_sets_are_not_searched():
    # shared_mlp *is* one pruning round; sparse_weight_balance *is* its loss weights
    assert "pruning.rounds" not in _names(make_config("shared_mlp"))
    balance = _names(make_config("sparse_weight_balance"))
    assert "loss.ctr_weight" not in balance and "pruning.q" in balance


def test_a_knob_whose_field_does_not_exist_is_skipped(monkeypatch):
    extra = ss.Knob("pruning.not_a_field_yet", (ss.SPARSE,), "choice", values=(1, 2))
    monkeypatch.setattr(ss, "KNOBS", ss.KNOBS + (extra,))
    names = _names(make_config("sparse_weight"))
    assert "pruning.not_a_field_yet" not in names and "pruning.q" in names


def test_defaults_are_the_configs_values_even_outside_the_table():
    config = make_config("sparse_weight", {"trainer": {"learning_rate": 0.05},
                                           "pruning": {"rounds": 9, "min_sparsity": 0.3}})
    hp = keras_tuner.HyperParameters()
    ss.declare_space(hp, config)
    assert hp.values["trainer.learning_rate"] == 0.05
    assert hp.values["pruning.rounds"] == 9
    assert hp.values["pruning.min_sparsity"] == 0.3
    assert hp.values["model.hidden_units.scale"] == 1.0
    # ... and applying the defaults gives back the config
    assert ss.apply_values(config, hp.values) == config


def test_scale_knob_becomes_concrete_layer_sizes():
    config = make_config("sparse_weight", {"model": {"hidden_units": [16, 8]}})
    assert ss.overrides_from_values(config, {"model.hidden_units.scale": 0.5}) == {
        "model": {"hidden_units": [8, 4]}}
    tuned = ss.apply_values(config, {"model.hidden_units.scale": 2.0,
                                     "trainer.learning_rate": 0.003})
    assert tuned.model.hidden_units == (32, 16) and tuned.trainer.learning_rate == 0.003


def test_unknown_hyperparameter_is_an_error_naming_it():
    with pytest.raises(ValueError, match="trainer.momentum"):
        ss.overrides_from_values(make_config("single_task"), {"trainer.momentum": 0.9})
    with pytest.raises(ValueError, match="no_such_knob"):
        ss.knobs_for(make_config("single_task"), only=["no_such_knob"])


def test_tuned_overrides_round_trip_through_a_config_file(tmp_path):
    config = make_config("mmoe")
    values = {"model.num_experts": 8, "model.tower_units.scale": 2.0, "loss.ctr_weight": 0.2}
    path = tmp_path / "mmoe.json"
    path.write_text(json.dumps(ss.overrides_from_values(config, values)))
    loaded = load_config("mmoe", str(path))
    assert loaded == ss.apply_values(config, values)
    assert loaded.model.num_experts == 8 and loaded.model.tower_units == (64,)


def test_merge_overrides_keeps_base_fields_the_top_does_not_set():
    merged = ss.merge_overrides({"trainer": {"epochs": 2, "learning_rate": 0.1}},
                                {"trainer": {"learning_rate": 0.003}, "loss": {"cvr_weight": 2}})
    assert merged == {"trainer": {"epochs": 2, "learning_rate": 0.003},
                      "loss": {"cvr_weight": 2}}
