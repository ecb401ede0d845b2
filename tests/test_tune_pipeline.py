"""TFX's Tuner in the pipeline: wiring (no run) and the module's tuner_fn at tiny size."""

import json
import os

import pytest

tfx_v1 = pytest.importorskip("tfx.v1")

import tensorflow as tf  # noqa: E402
from conftest import TINY_OVERRIDES  # noqa: E402
from tfx.components.trainer.fn_args_utils import FnArgs  # noqa: E402
from tfx.components.tuner import executor as tuner_executor  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from lt4rec.components import hyperparameters  # noqa: E402
from lt4rec.components.tuner_module import custom_config, tuner_fn  # noqa: E402
from lt4rec.models.config import make_config  # noqa: E402
from lt4rec.models.search_space import apply_values  # noqa: E402
from lt4rec.models.tuning import SearchConfig  # noqa: E402
from lt4rec.pipeline.config import PipelineConfig, TrainingSettings  # noqa: E402
from lt4rec.pipeline.kubeflow_runner import compile_kubeflow, image_config  # noqa: E402
from lt4rec.pipeline.pipeline import create_pipeline  # noqa: E402
from lt4rec.schemas import logs  # noqa: E402
from lt4rec.schemas.examples import encode_rows  # noqa: E402
from lt4rec.schemas.validation import validate_logs  # noqa: E402


def _config(tmp_path, tuning=None) -> PipelineConfig:
    return PipelineConfig(pipeline_root=str(tmp_path), data_root=str(tmp_path),
                          serving_root=str(tmp_path / "s"), pipeline_name="p",
                          training=TrainingSettings(variant="sparse_weight", tuning=tuning))


def _by_id(pipe):
    return {c.id: c for c in pipe.components}


def test_tuner_feeds_mask_gen_and_sparse_trainer(tmp_path):
    pipe = create_pipeline(_config(tmp_path, SearchConfig(trials=3)))
    parts = _by_id(pipe)
    best = parts["Tuner"].outputs["best_hyperparameters"]
    assert parts["MaskGen"].inputs["hyperparameters"] is best
    assert parts["SparseTrainer"].inputs["hyperparameters"] is best
    assert parts["Tuner"].inputs["examples"] is parts["Transform"].outputs["transformed_examples"]
    custom = json.loads(parts["Tuner"].exec_properties["custom_config"])
    assert custom["variant"] == "sparse_weight" and custom["search"]["trials"] == 3


def test_default_pipeline_has_no_tuner(tmp_path):
    parts = _by_id(create_pipeline(_config(tmp_path)))
    assert "Tuner" not in parts
    assert parts["MaskGen"].inputs.get("hyperparameters") is None
    assert parts["SparseTrainer"].inputs.get("hyperparameters") is None


def _examples_artifact(tiny_logs, root):
    """An Examples folder as LogExampleGen writes it: Split-train (day 1), Split-eval (day 3)."""
    files = [f for f, _ in logs.find_log_files(str(tiny_logs))]
    for split, path in (("train", files[0]), ("eval", files[2])):
        os.makedirs(root / f"Split-{split}")
        columns = validate_logs([path], use_tfdv=False).accepted
        with tf.io.TFRecordWriter(str(root / f"Split-{split}" / "data.gz"), "GZIP") as writer:
            for record in encode_rows(columns):
                writer.write(record)
    return root


def test_tuner_fn_searches_and_its_best_values_configure_the_components(tiny_logs, tmp_path):
    uri = _examples_artifact(tiny_logs, tmp_path / "examples")
    config_json = json.dumps(TINY_OVERRIDES)
    fn_args = FnArgs(working_dir=str(tmp_path / "work"),
                     train_files=[str(uri / "Split-train" / "*")],
                     eval_files=[str(uri / "Split-eval" / "*")],
                     custom_config=custom_config("single_task", config_json, 0, SearchConfig(
                         trials=2, knobs=("trainer.learning_rate",))))
    result = tuner_fn(fn_args)
    assert result.fit_kwargs["splits"].train.size == 800
    result.tuner.search(**result.fit_kwargs)
    best, records = (standard_artifacts.HyperParameters(), standard_artifacts.TunerResults())
    best.uri, records.uri = str(tmp_path / "best"), str(tmp_path / "records")
    tuner_executor.write_best_hyperparameters(
        result.tuner, {"best_hyperparameters": [best], "tuner_results": [records]})
    values = hyperparameters.best_values([best])
    assert set(values) == {"trainer.learning_rate"}
    base = make_config("single_task", TINY_OVERRIDES)
    tuned = hyperparameters.tuned(base, [best])
    assert tuned == apply_values(base, values)
    assert tuned.trainer.learning_rate == values["trainer.learning_rate"]
    assert hyperparameters.tuned(base, []) == base


def test_kubeflow_spec_carries_the_tuner_and_its_channel(tmp_path):
    config = PipelineConfig(pipeline_root="gs://b/root", data_root="gs://b/logs",
                            serving_root="gs://b/serving",
                            training=TrainingSettings(tuning=SearchConfig(trials=4)))
    out = compile_kubeflow(str(tmp_path / "lt4rec.json"), "registry.example/lt4rec:1",
                           image_config(config))
    spec = json.loads(open(out).read())
    tasks = spec.get("pipelineSpec", spec)["root"]["dag"]["tasks"]
    assert "Tuner" in tasks
    for consumer in ("MaskGen", "SparseTrainer"):
        channel = tasks[consumer]["inputs"]["artifacts"]["hyperparameters"]
        assert channel["taskOutputArtifact"]["producerTask"] == "Tuner"
