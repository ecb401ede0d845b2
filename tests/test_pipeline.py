"""The TFX pipeline on tiny simulated logs, run locally with LocalDagRunner."""

import pytest

tfx_v1 = pytest.importorskip("tfx.v1")

from tfx import v1 as tfx  # noqa: E402

from lt4rec.schemas import logs  # noqa: E402
from lt4rec.pipeline.config import PipelineConfig, TrainingSettings  # noqa: E402
from lt4rec.pipeline.pipeline import create_pipeline  # noqa: E402
from lt4rec.components.log_example_gen.executor import span_of_date  # noqa: E402


IN_MEMORY = ("--direct_running_mode=in_memory",)


def _run(data_root, root, span, **config):
    pipe = create_pipeline(
        PipelineConfig(pipeline_root=str(root / "pipeline"), data_root=str(data_root), span=span,
                       pipeline_name="lt4rec-test", beam_pipeline_args=IN_MEMORY, **config),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(root / "metadata.db")))
    tfx.orchestration.LocalDagRunner().run(pipe)
    return pipe


def test_pipeline_wiring_names_every_component(tmp_path):
    pipe = create_pipeline(PipelineConfig(pipeline_root=str(tmp_path), data_root=str(tmp_path),
                                          pipeline_name="p"))
    ids = {c.id for c in pipe.components}
    assert {"FileBasedExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator",
            "AnomalyGate"} <= ids


@pytest.mark.e2e
def test_clean_day_passes_validation_gate(small_logs, tmp_path):
    _run(small_logs, tmp_path, span_of_date(2026, 11, 2))
    examples = list((tmp_path / "pipeline" / "FileBasedExampleGen" / "examples").glob(
        "*/Split-train/*.gz"))
    assert examples
    assert list((tmp_path / "pipeline" / "ExampleValidator").glob("anomalies/*/Split-eval/*"))


@pytest.mark.e2e
def test_row_anomaly_stops_the_run_at_example_gen(small_logs, tmp_path):
    data = tmp_path / "logs" / "2026-11-01"
    data.mkdir(parents=True)
    lines = (small_logs / "2026-11-01" / logs.LOG_FILE_NAME).read_text().splitlines()
    (data / logs.LOG_FILE_NAME).write_text("\n".join(lines[:100] + ["1,2,3"]) + "\n")
    with pytest.raises(Exception, match="unparseable_line"):
        _run(tmp_path / "logs", tmp_path, span_of_date(2026, 11, 1))
    assert not list((tmp_path / "pipeline").glob("StatisticsGen/statistics/*/Split-train/*"))


def _schema_variant(tmp_path, name, edit):
    """The contract with one feature edited by ``edit(feature)``, written to a pbtxt."""
    from google.protobuf import text_format
    from lt4rec.schemas import contract
    schema = contract.load_schema_proto()
    edit(next(f for f in schema.feature if f.name == "hour_of_day"))
    path = tmp_path / name
    path.write_text(text_format.MessageToString(schema))
    return path


def _run_with_schema(data, tmp_path, schema_path, span):
    _run(data, tmp_path, span, schema_path=str(schema_path))


@pytest.mark.e2e
def test_statistics_anomaly_stops_the_run_at_the_gate(small_logs, tmp_path):
    # No row breaks this (row rules do not count presence); TFDV's statistics do.
    path = _schema_variant(tmp_path, "min_count.pbtxt",
                           lambda f: setattr(f.presence, "min_count", 10 ** 9))
    with pytest.raises(Exception, match="hour_of_day"):
        _run_with_schema(small_logs, tmp_path, path, span_of_date(2026, 11, 1))
    assert list((tmp_path / "pipeline").glob("StatisticsGen/statistics/*/Split-train/*"))


@pytest.mark.e2e
def test_example_gen_validates_rows_against_the_pipeline_schema(small_logs, tmp_path):
    path = _schema_variant(tmp_path, "narrow.pbtxt",
                           lambda f: setattr(f.int_domain, "max", 5))  # data has later hours
    with pytest.raises(Exception, match=r"out_of_range.*hour_of_day"):
        _run_with_schema(small_logs, tmp_path, path, span_of_date(2026, 11, 1))
    assert not list((tmp_path / "pipeline").glob("StatisticsGen/statistics/*/Split-train/*"))


@pytest.mark.e2e
def test_two_days_push_warm_start_reuse_masks_cache_and_resume(tiny_logs, direct_pipeline_day,
                                                                tmp_path):
    import datetime as dt
    import json
    import tensorflow as tf
    from conftest import TINY_OVERRIDES, lenient_blessing
    from lt4rec.pipeline import local_runner
    from lt4rec.pipeline.eval_config import BlessingConfig

    # Day 3 ran in the session fixture (shared with the portable-runner test); this test
    # carries on in its root. Tiny data gives a weak model: bless on any AUC, then demand 0.99.
    root = direct_pipeline_day["root"]
    serving = root / "serving"
    lenient = lenient_blessing()

    def run(day, blessing=lenient):
        return local_runner.run_day(str(tiny_logs), str(root), dt.date(2026, 11, day),
                                    TrainingSettings(model_overrides=TINY_OVERRIDES,
                                                     blessing=blessing), IN_MEMORY)

    def artifacts(component, output):
        return sorted((root / "pipeline" / component / output).iterdir(),
                      key=lambda p: int(p.name))

    first = direct_pipeline_day["run"]                         # day 3 (PIPELINE_DAY)
    second = run(4)
    assert len(first.pushed_versions) == 1 and len(second.pushed_versions) == 2
    assert sorted(p.name for p in (serving / "pcvr").iterdir()) == second.pushed_versions
    eval_files = sorted((root / "pipeline" / "FileBasedExampleGen" / "examples").glob(
        "*/Split-eval/*.gz"))
    records = next(iter(tf.data.TFRecordDataset(eval_files, "GZIP").batch(64)))
    for name in ("pctr", "pcvr"):                    # raw records in: Transform graph inside
        loaded = tf.saved_model.load(str(serving / name / second.pushed_versions[-1]))
        scores = loaded.signatures["serving_default"](examples=records)[name].numpy()
        assert scores.shape == (64,) and ((scores > 0) & (scores < 1)).all()
    assert list((root / "pipeline" / "Transform" / "transform_graph").glob("*/transform_fn"))
    masks = artifacts("MaskGen", "masks")
    assert len(masks) == 2 and (masks[0] / "masks.npz").read_bytes() == (
        masks[1] / "masks.npz").read_bytes()                      # day 2 reused day 1's masks
    models = artifacts("SparseTrainer", "model")
    day1, day2 = (json.loads((m / "metrics.json").read_text()) for m in models)
    assert day1["warm_started"] is False and day2["warm_started"] is True
    assert day1["inputs"] == day2["inputs"] == "transformed"
    assert second.component_seconds["MaskGen"] < first.component_seconds["MaskGen"]

    again = run(4)                                             # a finished day: all cached
    assert artifacts("SparseTrainer", "model") == models and again.pushed_versions == \
        second.pushed_versions
    assert again.decision.pushed and again.decision.version == second.decision.version

    assert first.decision.pushed and second.decision.version == int(second.pushed_versions[-1])
    strict = run(2, BlessingConfig(min_ctr_auc=0.99))          # not blessed: nothing pushed
    assert strict.pushed_versions == second.pushed_versions
    assert not strict.decision.pushed and strict.decision.exit_status == 3
    assert any(r.startswith("pctr auc = ") and r.endswith("needs >= 0.99")
               for r in strict.decision.reasons), strict.decision.reasons

    (serving / "pctr").rename(tmp_path / "moved")              # the push step will fail ...
    (serving / "pctr").write_text("not a folder")
    with pytest.raises(Exception):
        run(1)
    n_models = len(artifacts("SparseTrainer", "model"))
    (serving / "pctr").unlink()
    (tmp_path / "moved").rename(serving / "pctr")
    resumed = run(1)                                           # ... and the rerun resumes
    assert len(artifacts("SparseTrainer", "model")) == n_models   # training was not redone
    assert len(resumed.pushed_versions) == len(second.pushed_versions) + 1


def test_kubeflow_compile_names_every_component(tmp_path):
    import json
    from lt4rec.pipeline.kubeflow_runner import compile_kubeflow
    out = compile_kubeflow(str(tmp_path / "lt4rec.json"), "registry.example/lt4rec:1",
                           PipelineConfig(pipeline_root="gs://b/root", data_root="gs://b/logs",
                                          serving_root="gs://b/serving"))
    spec = json.loads(open(out).read())
    spec = spec.get("pipelineSpec", spec)
    tasks = set(spec["root"]["dag"]["tasks"])
    for name in ("FileBasedExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator",
                 "AnomalyGate", "Transform", "MaskGen", "SparseTrainer", "Evaluator",
                 "DualPusher"):
        assert name in tasks
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()
              if "container" in e}
    assert images == {"registry.example/lt4rec:1"}


@pytest.mark.e2e
def test_rolling_window_trains_on_the_last_n_days(tiny_logs, tmp_path):
    import datetime as dt
    import json
    from conftest import TINY_OVERRIDES
    from lt4rec.pipeline import local_runner
    from lt4rec.pipeline.eval_config import BlessingConfig

    lenient = BlessingConfig(min_ctr_auc=0.0, max_cvr_mse=1.0, max_ctr_auc_drop=1.0,
                             max_cvr_mse_rise=1.0)
    for day in (2, 3):
        local_runner.run_day(str(tiny_logs), str(tmp_path), dt.date(2026, 11, day),
                             TrainingSettings(model_overrides=TINY_OVERRIDES, window_days=2,
                                              blessing=lenient), IN_MEMORY)
    models = sorted((tmp_path / "pipeline" / "SparseTrainer" / "model").iterdir(),
                    key=lambda p: int(p.name))
    metrics = [json.loads((m / "metrics.json").read_text()) for m in models]
    assert [len(m["train_spans"]) for m in metrics] == [1, 2]   # day 1 has no earlier day
    assert metrics[1]["train_spans"] == [str(span_of_date(2026, 11, d)) for d in (2, 3)]
    assert metrics[1]["train_rows"] > 1.5 * metrics[0]["train_rows"]


def _shift_surface(src, dst):
    """A copy of a day's log with every third impression moved to the "search" surface."""
    import csv
    from lt4rec.schemas import names
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    column = rows[0].index(names.SOURCE_PAGE)
    for i, row in enumerate(rows[1:]):
        if i % 3 == 0:
            row[column] = "search"
    dst.parent.mkdir(parents=True)
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


@pytest.mark.e2e
def test_drift_gate_stops_a_shifted_day_and_accepting_lets_it_through(tiny_logs, tmp_path):
    import shutil
    from lt4rec.components.drift_gate import DriftFoundError
    from lt4rec.pipeline.local_runner import gate_stop
    data = tmp_path / "logs"
    shutil.copytree(tiny_logs / "2026-11-01", data / "2026-11-01")
    _shift_surface(tiny_logs / "2026-11-02" / logs.LOG_FILE_NAME,
                   data / "2026-11-02" / logs.LOG_FILE_NAME)

    def run(day, accept=()):
        pipe = create_pipeline(
            PipelineConfig(pipeline_root=str(tmp_path / "pipeline"), data_root=str(data),
                           span=span_of_date(2026, 11, day), pipeline_name="lt4rec-test",
                           accept_drift=tuple(accept),
                           beam_pipeline_args=("--direct_running_mode=in_memory",)),
            metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
                str(tmp_path / "metadata.db")))
        tfx.orchestration.LocalDagRunner().run(pipe)

    run(1)                                                   # no baseline yet: passes
    with pytest.raises(Exception) as err:
        run(2)
    stop = gate_stop(err.value)
    assert isinstance(stop, DriftFoundError), err.value
    assert [r.split(":")[0] for r in stop.reasons] == ["source_page"]
    assert "vs accepted day 2026-11-01" in stop.reasons[0]

    def baselines():
        from lt4rec.pipeline.lineage import Lineage, open_store
        return [a.custom_properties["day"].string_value
                for a in Lineage(open_store(str(tmp_path))).of_type("lt4rec.AcceptedStatistics")]

    assert baselines() == ["2026-11-01"]                     # the stopped day is no baseline
    run(2, accept=["source_page"])                           # the operator accepts the shift
    assert baselines() == ["2026-11-01", "2026-11-02"]
