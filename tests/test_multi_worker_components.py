"""MaskGen and SparseTrainer on N worker processes (``train_workers``): the launch decision,
the worker spec, and 2 workers = 1 worker on the same global batch."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("tfx")

import tensorflow as tf  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from lt4rec.components import multi_worker_run  # noqa: E402
from lt4rec.components.artifacts import Masks  # noqa: E402
from lt4rec.components.common import SPAN_PROPERTY, load_splits  # noqa: E402
from lt4rec.components.mask_gen import executor as mask_gen  # noqa: E402
from lt4rec.components.sparse_trainer import executor as sparse_trainer  # noqa: E402
from lt4rec.models import multi_worker  # noqa: E402
from lt4rec.models.artifacts import save_task_masks  # noqa: E402
from lt4rec.models.config import make_config  # noqa: E402
from lt4rec.models.ranker import build_model  # noqa: E402
from lt4rec.models.tasks import TASK_NAMES  # noqa: E402
from lt4rec.schemas import logs  # noqa: E402
from lt4rec.schemas.examples import encode_rows  # noqa: E402
from lt4rec.schemas.validation import validate_logs  # noqa: E402

from conftest import TINY_OVERRIDES  # noqa: E402

SPAN = 20395


def _artifact(cls, uri, span=None):
    artifact = cls()
    artifact.uri = str(uri)
    if span is not None:
        artifact.set_int_custom_property(SPAN_PROPERTY, span)
    return artifact


def _config():
    return make_config("sparse_weight", TINY_OVERRIDES)


def _properties(workers):
    return {"variant": "sparse_weight", "config_json": json.dumps(TINY_OVERRIDES), "seed": 0,
            "train_workers": workers}


def test_workers_are_launched_only_for_n_above_one_outside_a_cluster(monkeypatch):
    monkeypatch.delenv(multi_worker.TF_CONFIG, raising=False)
    assert not multi_worker_run.wants_launch({})
    assert not multi_worker_run.wants_launch({"train_workers": 1})
    assert multi_worker_run.wants_launch({"train_workers": 2})
    monkeypatch.setenv(multi_worker.TF_CONFIG, json.dumps(multi_worker.tf_config(["a:1"], 0)))
    assert not multi_worker_run.wants_launch({"train_workers": 2})  # a pod is one worker
    with pytest.raises(ValueError, match="Received: train_workers=0"):
        multi_worker_run.wants_launch({"train_workers": 0})


def test_workers_get_multi_worker_distribution_on_top_of_the_overrides():
    props = multi_worker_run.multi_worker_properties(
        {"variant": "v", "config_json": '{"trainer": {"epochs": 2}}', "seed": 3})
    assert json.loads(props["config_json"]) == {"trainer": {"epochs": 2,
                                                            "distribution": "multi_worker"}}
    assert props["seed"] == 3 and props["variant"] == "v"
    assert json.loads(multi_worker_run.multi_worker_properties({})["config_json"]) == {
        "trainer": {"distribution": "multi_worker"}}


def test_worker_spec_round_trip_keeps_artifacts_and_names_the_executor_function(tmp_path):
    spec = multi_worker_run.WorkerSpec(
        "lt4rec.components.mask_gen.executor:search",
        {"examples": [_artifact(standard_artifacts.Examples, tmp_path / "ex", span=7)]},
        {"masks": [_artifact(Masks, tmp_path / "masks")]}, _properties(2),
        str(tmp_path / "result.json"))
    back = multi_worker_run.WorkerSpec.read(spec.write(str(tmp_path / "spec.json")))
    assert back.input_dict["examples"][0].uri == str(tmp_path / "ex")
    assert back.input_dict["examples"][0].get_int_custom_property(SPAN_PROPERTY) == 7
    assert isinstance(back.output_dict["masks"][0], Masks)
    assert back.exec_properties == _properties(2) and back.result_path == spec.result_path
    assert back.function() is mask_gen.search
    back.train_fn = "lt4rec.components.mask_gen.executor:no_such_function"
    with pytest.raises(ValueError, match="no_such_function"):
        back.function()


def test_masks_searched_on_workers_are_reused_by_an_in_process_run_of_the_same_config(
        tmp_path):
    from lt4rec.components.common import model_fingerprint
    on_workers = make_config("sparse_weight", {"trainer": {"distribution": "multi_worker"}})
    (tmp_path / mask_gen.CONFIG_FILE).write_text(json.dumps(
        {"fingerprint": model_fingerprint(on_workers), "config": on_workers.to_dict()}))
    assert mask_gen.reusable(str(tmp_path), make_config("sparse_weight"), same_config=True)
    other_search = make_config("sparse_weight", {"pruning": {"rounds": 2}})
    assert not mask_gen.reusable(str(tmp_path), other_search, same_config=True)
    assert mask_gen.reusable(str(tmp_path), other_search)  # same features and architecture


def test_one_worker_trains_in_process(monkeypatch):
    monkeypatch.delenv(multi_worker.TF_CONFIG, raising=False)
    calls = []
    result = multi_worker_run.run_training(lambda i, o, p: calls.append(p) or {"ok": 1},
                                           {}, {}, {"train_workers": 1})
    assert result == {"ok": 1} and calls == [{"train_workers": 1}]


def test_pipeline_gives_mask_gen_and_sparse_trainer_the_worker_count(tmp_path):
    from lt4rec.pipeline.config import PipelineConfig, TrainingSettings
    from lt4rec.pipeline.pipeline import create_pipeline
    pipe = create_pipeline(PipelineConfig(
        pipeline_root=str(tmp_path), data_root=str(tmp_path), serving_root=str(tmp_path),
        training=TrainingSettings(train_workers=3)))
    workers = {c.id: c.exec_properties.get("train_workers") for c in pipe.components
               if c.id in ("MaskGen", "SparseTrainer")}
    assert workers == {"MaskGen": 3, "SparseTrainer": 3}


@pytest.mark.e2e
def test_a_failing_worker_is_named_with_its_log_which_says_why(tmp_path, monkeypatch):
    monkeypatch.delenv(multi_worker.TF_CONFIG, raising=False)
    props = dict(_properties(2), variant="no_such_variant")
    masks = _artifact(Masks, tmp_path / "masks")
    with pytest.raises(RuntimeError, match=r"worker \d exited with code 1; see ") as failed:
        multi_worker_run.run_training(mask_gen.search, {}, {"masks": [masks]}, props,
                                      str(tmp_path))
    log = str(failed.value).split("; see ")[1]
    assert os.path.dirname(log) == str(tmp_path / "workers")
    with open(log, encoding="utf-8") as fh:
        assert "ValueError: unknown variant 'no_such_variant'" in fh.read()


def _examples(tiny_logs, uri):
    """An Examples artifact: day 1 of ``tiny_logs`` as ``train``, day 3 as ``eval``."""
    files = logs.find_log_files(str(tiny_logs))
    for split, (path, _) in (("train", files[0]), ("eval", files[2])):
        os.makedirs(uri / f"Split-{split}")
        with tf.io.TFRecordWriter(str(uri / f"Split-{split}" / "data.gz"), "GZIP") as out:
            for record in encode_rows(validate_logs(path, use_tfdv=False).accepted):
                out.write(record)
    return _artifact(standard_artifacts.Examples, uri, span=SPAN)


def _masks(examples, uri):
    """A Masks artifact as MaskGen writes it: theta and a random mask per task and layer."""
    tf.keras.utils.set_random_seed(1)
    model = build_model(_config(), load_splits({"examples": [examples]})[0].features)
    rng = np.random.default_rng(0)
    for layer in model.masked_layers:
        for task in range(len(TASK_NAMES)):
            layer.set_task_mask(task, (rng.random(layer.kernel.shape) > 0.4).astype(np.float32))
    model.save_weights(os.path.join(uri, mask_gen.THETA_DIR, "weights"))
    save_task_masks(str(uri), model.masked_layers, TASK_NAMES, range(len(TASK_NAMES)))
    return _artifact(Masks, uri, span=SPAN), model


def _checkpoint(prefix):
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)
            if not name.startswith(("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter"))}


@pytest.mark.e2e
def test_two_workers_train_the_weights_one_worker_trains(tiny_logs, tmp_path, monkeypatch):
    """SparseTrainer with train_workers=2 (two processes, TF_CONFIG on 127.0.0.1) ends with
    the weights the in-process run ends with; weights both tasks mask stay at theta."""
    monkeypatch.delenv(multi_worker.TF_CONFIG, raising=False)
    examples = _examples(tiny_logs, tmp_path / "examples")
    masks, model = _masks(examples, tmp_path / "masks")
    models = {n: _artifact(standard_artifacts.Model, tmp_path / f"model-{n}") for n in (1, 2)}
    for n in (1, 2):
        sparse_trainer.Executor().Do({"examples": [examples], "masks": [masks]},
                                     {"model": [models[n]]}, _properties(n))
    weights = {n: os.path.join(models[n].uri, sparse_trainer.WEIGHTS_DIR, "weights")
               for n in (1, 2)}
    one, two = _checkpoint(weights[1]), _checkpoint(weights[2])
    assert one.keys() == two.keys()
    for key in one:
        np.testing.assert_allclose(two[key], one[key], rtol=1e-4, atol=1e-6, err_msg=key)
    theta = [layer.kernel.numpy() for layer in model.masked_layers]
    unused = [np.all([layer.task_mask(t) == 0 for t in range(len(TASK_NAMES))], axis=0)
              for layer in model.masked_layers]
    for n in (1, 2):
        model.load_weights(weights[n]).expect_partial()
        for layer, before, masked in zip(model.masked_layers, theta, unused):
            after = layer.kernel.numpy()
            assert masked.any() and np.abs(after - before)[~masked].max() > 0
            np.testing.assert_array_equal(after[masked], before[masked])
    assert models[2].get_int_custom_property(SPAN_PROPERTY) == SPAN
    assert models[2].get_int_custom_property("warm_started") == 0
    assert os.path.isdir(os.path.join(models[2].uri, sparse_trainer.SERVING_DIR))
    assert not os.path.exists(os.path.join(models[2].uri, multi_worker.WORKERS_DIR))
