"""The TFX pipeline on tiny simulated logs, run locally with LocalDagRunner."""

import pytest

tfx_v1 = pytest.importorskip("tfx.v1")

from tfx import v1 as tfx  # noqa: E402

from lt4rec import logs  # noqa: E402
from pipeline.pipeline import create_pipeline  # noqa: E402
from components.log_example_gen.executor import span_of_date  # noqa: E402


def _run(data_root, root, span):
    pipe = create_pipeline(
        "lt4rec-test", str(root / "pipeline"), str(data_root), span=span,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(root / "metadata.db")),
        beam_pipeline_args=["--direct_running_mode=in_memory"])
    tfx.orchestration.LocalDagRunner().run(pipe)
    return pipe


def test_pipeline_wiring_names_every_component(tmp_path):
    pipe = create_pipeline("p", str(tmp_path), str(tmp_path))
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


@pytest.mark.e2e
def test_statistics_anomaly_stops_the_run_at_the_gate(small_logs, tmp_path):
    from schemas import contract
    schema = contract.load_schema_proto()
    hour = next(f for f in schema.feature if f.name == "hour_of_day")
    hour.int_domain.max = 5  # the data has evening hours: TFDV must flag it
    path = tmp_path / "narrow_schema.pbtxt"
    from google.protobuf import text_format
    path.write_text(text_format.MessageToString(schema))
    pipe = create_pipeline(
        "lt4rec-test", str(tmp_path / "pipeline"), str(small_logs),
        span=span_of_date(2026, 11, 1), schema_path=str(path),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(tmp_path / "metadata.db")),
        beam_pipeline_args=["--direct_running_mode=in_memory"])
    with pytest.raises(Exception, match="hour_of_day"):
        tfx.orchestration.LocalDagRunner().run(pipe)


@pytest.mark.e2e
def test_two_days_train_push_warm_start_and_reuse_masks(tiny_logs, tmp_path):
    import json
    from conftest import TINY_OVERRIDES
    from pipeline.eval_config import BlessingConfig
    serving = tmp_path / "serving"
    # Tiny data gives a weak model: bless on any AUC, but then demand AUC 0.99.
    lenient = BlessingConfig(min_ctr_auc=0.0, max_cvr_mse=1.0, max_ctr_auc_drop=1.0,
                             max_cvr_mse_rise=1.0)
    strict = BlessingConfig(min_ctr_auc=0.99)
    runs = []
    for day, blessing in ((3, lenient), (4, lenient), (2, strict)):
        pipe = create_pipeline(
            "lt4rec-e2e", str(tmp_path / "pipeline"), str(tiny_logs),
            serving_root=str(serving), variant="sparse_weight",
            config_json=json.dumps(TINY_OVERRIDES), span=span_of_date(2026, 11, day),
            blessing=blessing,
            metadata_connection_config=tfx.orchestration.metadata
            .sqlite_metadata_connection_config(str(tmp_path / "metadata.db")),
            beam_pipeline_args=["--direct_running_mode=in_memory"])
        tfx.orchestration.LocalDagRunner().run(pipe)
        runs.append(sorted(p.name for p in (serving / "pctr").iterdir()))
    assert len(runs[0]) == 1 and len(runs[1]) == 2
    assert runs[2] == runs[1]  # not blessed under the strict floor: nothing pushed
    assert sorted(p.name for p in (serving / "pcvr").iterdir()) == runs[1]
    import tensorflow as tf
    for name in ("pctr", "pcvr"):
        model = tf.saved_model.load(str(serving / name / runs[1][-1]))
        assert "serving_default" in model.signatures
    masks = sorted((tmp_path / "pipeline" / "MaskGen" / "masks").iterdir(), key=lambda p: int(p.name))
    assert len(masks) == 3  # later days' Masks artifacts are copies of the first
    assert (masks[0] / "masks.npz").read_bytes() == (masks[1] / "masks.npz").read_bytes()
    models = sorted((tmp_path / "pipeline" / "SparseTrainer" / "model").iterdir(),
                    key=lambda p: int(p.name))
    first, second = (json.loads((m / "metrics.json").read_text()) for m in models[:2])
    assert first["warm_started"] is False and second["warm_started"] is True
