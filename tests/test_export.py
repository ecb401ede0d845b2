"""Exports score exactly like the in-memory masked model; S-Neuron exports are compacted."""

import numpy as np
import pytest
import tensorflow as tf

from lt4rec.schemas import logs
from lt4rec.schemas.examples import encode_rows
from lt4rec.schemas.validation import validate_logs
from lt4rec.models import lottery
from lt4rec.models.export import export_models, task_scorer
from lt4rec.models.ranker import build_model
from lt4rec.models.tasks import CTR, CVR, OUTPUT_NAMES
from lt4rec.models.training import Trainer

from conftest import tiny_config


def _trained(tiny_dataset, variant):
    config = tiny_config(variant)
    model = build_model(config, tiny_dataset.train.features)
    if model.masked_layers:
        lottery.search_masks(model, config, tiny_dataset.train, tiny_dataset.validation)
    Trainer(model, config, tiny_dataset.train).fit(0.5)
    return model


def _examples_from_log(path, n):
    """The first n rows of a log file as the serialized tf.Examples LogExampleGen writes."""
    columns = validate_logs(path, use_tfdv=False).accepted
    return list(encode_rows({k: v[:n] for k, v in columns.items()}))


@pytest.mark.parametrize("variant", ["sparse_weight", "sparse_neuron", "mmoe", "ple",
                                     "single_task"])
def test_exports_score_like_the_masked_model(tiny_dataset, tiny_logs, tmp_path, variant):
    model = _trained(tiny_dataset, variant)
    reports = export_models(model, str(tmp_path))
    test_file = logs.find_log_files(str(tiny_logs))[-1][0]
    examples = tf.constant(_examples_from_log(test_file, 50))
    raw = {k: v[:50] for k, v in tiny_dataset.test.features.items()}
    combined = tf.saved_model.load(str(tmp_path / "combined"))
    for task in (CTR, CVR):
        name = OUTPUT_NAMES[task]
        loaded = tf.saved_model.load(str(tmp_path / name))
        saved = tf.train.list_variables(str(tmp_path / name / "variables" / "variables"))
        assert saved and not any("mask" in v for v, _ in saved)
        expected = model.task_output(raw, task).numpy()
        got_raw = loaded.signatures["serving_raw"](**raw)[name].numpy()
        got_ex = loaded.signatures["serving_default"](examples=examples)[name].numpy()
        np.testing.assert_allclose(got_raw, expected, atol=1e-5)
        np.testing.assert_allclose(got_ex, expected, atol=1e-5)
        np.testing.assert_allclose(combined.signatures["serving_raw"](**raw)[name].numpy(),
                                   expected, atol=1e-5)
        np.testing.assert_allclose(loaded.signatures["regress"](inputs=examples)["outputs"],
                                   expected, atol=1e-5)
        r = reports[name]
        assert 0 < r["nonzero_params"] <= r["dense_params"] and 0 < r["flops"] <= r["dense_flops"]
        assert r["bytes"] > 0


def test_tf_serving_method_names_and_classify(tiny_dataset, tiny_logs, tmp_path):
    from tensorflow.core.protobuf import saved_model_pb2
    model = _trained(tiny_dataset, "hard_share")
    export_models(model, str(tmp_path))
    methods = {}
    for name in ("pctr", "pcvr"):
        proto = saved_model_pb2.SavedModel()
        proto.ParseFromString((tmp_path / name / "saved_model.pb").read_bytes())
        methods[name] = {k: v.method_name for k, v in proto.meta_graphs[0].signature_def.items()
                         if not k.startswith("__")}
    assert methods["pctr"] == {"serving_default": "tensorflow/serving/predict",
                               "serving_raw": "tensorflow/serving/predict",
                               "regress": "tensorflow/serving/regress",
                               "classify": "tensorflow/serving/classify"}
    assert "classify" not in methods["pcvr"] and methods["pcvr"]["regress"].endswith("regress")
    examples = tf.constant(_examples_from_log(logs.find_log_files(str(tiny_logs))[0][0], 5))
    out = tf.saved_model.load(str(tmp_path / "pctr")).signatures["classify"](inputs=examples)
    scores = out["scores"].numpy()
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-6)
    first_day = {k: v[:5] for k, v in tiny_dataset.train.features.items()}
    np.testing.assert_allclose(scores[:, 1], model.task_output(first_day, CTR).numpy(), atol=1e-5)
    assert out["classes"].numpy()[0].tolist() == [b"0", b"1"]


def test_neuron_compaction_shrinks_layers_and_preserves_outputs(tiny_dataset):
    model = _trained(tiny_dataset, "sparse_neuron")
    layer = model.masked_layers[0]
    mask = np.ones(layer.units, np.float32)
    mask[::2] = 0
    layer.set_task_mask(CVR, mask)
    raw = {k: v[:40] for k, v in tiny_dataset.test.features.items()}
    compact = task_scorer(model, CVR, compact=True)
    assert compact.stack[0].units == layer.units // 2
    np.testing.assert_allclose(compact(raw).numpy(), model.task_output(raw, CVR).numpy(),
                               atol=1e-5)
    np.testing.assert_allclose(task_scorer(model, CVR, compact=False)(raw).numpy(),
                               model.task_output(raw, CVR).numpy(), atol=1e-5)


def test_missing_required_feature_in_an_example_is_an_error(tiny_dataset, tmp_path):
    model = _trained(tiny_dataset, "hard_share")
    export_models(model, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path / "pctr"))
    empty = tf.train.Example().SerializeToString()
    with pytest.raises(tf.errors.InvalidArgumentError, match="Feature"):
        loaded.signatures["serving_default"](examples=tf.constant([empty]))
