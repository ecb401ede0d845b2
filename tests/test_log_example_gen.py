"""LogExampleGen's executor: typed Examples for a clean day; a broken day stops it."""

import csv
import json
import os

import pytest

tfx_types = pytest.importorskip("tfx.types")

from tfx.proto import example_gen_pb2  # noqa: E402
from tfx.types import standard_artifacts, standard_component_specs  # noqa: E402
from tfx.utils import io_utils, proto_utils  # noqa: E402
import tensorflow as tf  # noqa: E402

from lt4rec.components.log_example_gen import executor  # noqa: E402
from lt4rec.schemas.examples import decode_example  # noqa: E402
from lt4rec.schemas import names  # noqa: E402


def _run(input_base, out_dir, day="2026-11-01"):
    examples = standard_artifacts.Examples()
    examples.uri = str(out_dir)
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name="day", pattern=f"{day}/*.csv")])
    output_config = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=3),
        example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1)]))
    props = {standard_component_specs.INPUT_BASE_KEY: str(input_base),
             standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(input_config),
             standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(output_config),
             standard_component_specs.OUTPUT_DATA_FORMAT_KEY:
                 example_gen_pb2.FORMAT_TF_EXAMPLE}
    executor.Executor().Do({}, {standard_component_specs.EXAMPLES_KEY: [examples]}, props)
    return examples


def _read(split_dir):
    files = tf.io.gfile.glob(os.path.join(split_dir, "*.gz"))
    return [decode_example(r.numpy()) for r in tf.data.TFRecordDataset(files, "GZIP")]


def test_clean_day_becomes_typed_examples_and_loses_no_row(small_logs, tmp_path):
    examples = _run(small_logs, tmp_path / "out")
    rows = _read(tmp_path / "out" / "Split-train") + _read(tmp_path / "out" / "Split-eval")
    assert len(rows) == 5000
    assert examples.get_int_custom_property("rows_read") == 5000
    with open(small_logs / "2026-11-01" / "impressions.csv", newline="") as fh:
        first = next(csv.DictReader(fh))
    by_id = {r[names.IMPRESSION_ID]: r for r in rows}
    row = by_id[int(first[names.IMPRESSION_ID])]
    assert row[names.USER_RECENT_CLICKS] == first[names.USER_RECENT_CLICKS]
    assert isinstance(row[names.ITEM_ID], int) and isinstance(row[names.VIDEO_LENGTH_S], float)
    report = json.loads(open(tmp_path / "out" / executor.VALIDATION_DIR / "day" /
                             "report.json").read())
    assert report["ok"] and report["rows_accepted"] == 5000


def test_broken_day_stops_with_the_anomaly_named(small_logs, tmp_path):
    day = tmp_path / "logs" / "2026-11-01"
    day.mkdir(parents=True)
    lines = (small_logs / "2026-11-01" / "impressions.csv").read_text().splitlines()
    header = lines[0].split(",")
    bad = lines[1].split(",")
    bad[header.index('"click"')] = "3"
    (day / "impressions.csv").write_text("\n".join(lines[:50] + [",".join(bad)]) + "\n")
    with pytest.raises(executor.LogAnomaliesError, match=r"out_of_range \[click\]"):
        _run(tmp_path / "logs", tmp_path / "out")
    assert not (tmp_path / "out" / "Split-train").exists()


def test_missing_day_is_named(small_logs, tmp_path):
    with pytest.raises(executor.LogAnomaliesError, match="2026-12-24"):
        _run(small_logs, tmp_path / "out", day="2026-12-24")


def _write_day(tmp_path, lines):
    day = tmp_path / "logs" / "2026-11-01"
    day.mkdir(parents=True)
    (day / "impressions.csv").write_text("".join(line + "\n" for line in lines))
    return tmp_path / "logs"


def test_day_missing_a_column_stops_with_the_column_named(small_logs, tmp_path):
    lines = (small_logs / "2026-11-01" / "impressions.csv").read_text().splitlines()[:40]
    drop = lines[0].split(",").index(f'"{names.WATCH_TIME_S}"')
    cut = [",".join(f for i, f in enumerate(line.split(",")) if i != drop) for line in lines]
    with pytest.raises(executor.LogAnomaliesError,
                       match=rf"missing_column.*{names.WATCH_TIME_S}"):
        _run(_write_day(tmp_path, cut), tmp_path / "out")
    assert not (tmp_path / "out" / "Split-train").exists()


def test_empty_day_stops_and_writes_no_examples(small_logs, tmp_path):
    header = (small_logs / "2026-11-01" / "impressions.csv").read_text().splitlines()[0]
    with pytest.raises(executor.LogAnomaliesError, match="empty_file"):
        _run(_write_day(tmp_path, [header]), tmp_path / "out")
    assert not (tmp_path / "out" / "Split-train").exists()


def test_vectorised_encoding_equals_the_row_by_row_encoding(small_logs):
    import numpy as np
    from tensorflow.core.example import example_pb2
    from lt4rec.schemas.examples import encode_batch, encode_rows
    from lt4rec.schemas.validation import validate_logs

    path = sorted(small_logs.glob("*/*.csv"))[0]
    columns = validate_logs(str(path), report_dir=None, use_tfdv=False).accepted
    columns = {k: v[:50] for k, v in columns.items()}
    columns[names.ITEM_TAGS] = np.array(["", "7|9"] * 25, dtype=object)  # empty: absent
    rows = [example_pb2.Example.FromString(r) for r in encode_rows(columns)]
    batch = [example_pb2.Example.FromString(r) for r in encode_batch(columns)]
    assert batch == rows and len(rows) == 50
    assert names.ITEM_TAGS not in batch[0].features.feature
    assert batch[1].features.feature[names.ITEM_TAGS].bytes_list.value == [b"7|9"]


def test_split_of_ids_is_stable_and_follows_the_bucket_ratio():
    import numpy as np
    ids = np.arange(20261101000000000, 20261101000000000 + 20_000, dtype=np.int64)
    splits = executor.split_of_ids(ids, [9, 10])
    assert set(np.unique(splits)) == {0, 1}
    assert abs(np.mean(splits == 1) - 0.1) < 0.01               # 9:1, within 1 point
    assert (executor.split_of_ids(ids[::-1], [9, 10])[::-1] == splits).all()  # per row
    assert (executor.split_of_ids(ids[:5], [9, 10]) == splits[:5]).all()
