"""Executor of LogExampleGen: validate the span's log files, then write typed tf.Examples.

Before any Example is written, every file of the span (the day the driver resolved from the
``{YYYY}-{MM}-{DD}`` pattern) goes through ``lt4rec.schemas.validation`` -- the same rules as
``lt4rec validate``. Its report and quarantine land in ``<examples uri>/validation/``; any
anomaly (a bad row, a missing column, an empty day) fails the component with the report, so
nothing downstream runs on a broken day. Accepted rows become tf.Examples typed by the
contract (``lt4rec.schemas.examples``), not by type inference.

The files are parsed once: validation leaves the accepted, typed rows as Parquet chunks of
``CHUNK_ROWS`` rows (``<examples uri>/.accepted/``, removed afterwards), and the Beam workers
encode the chunks in parallel with tfx_bsl's C++ tf.Example encoder (``encode_batch``).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Tuple

import apache_beam as beam
import numpy as np
from google.protobuf import struct_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from lt4rec.schemas.contract import SCHEMA_PATH
from lt4rec.schemas.validation import format_report, validate_logs

VALIDATION_DIR = "validation"
SCHEMA_PATH_KEY = "schema_path"
ACCEPTED_DIR = ".accepted"          # Parquet chunks of validated rows, removed after the run
ACCEPTED_KEY = "_lt4rec_accepted_chunks"
CHUNK_ROWS = 50_000                 # rows per Beam element: the unit of parallel encoding


def custom_config(schema_path: str) -> example_gen_pb2.CustomConfig:
    """ExampleGen's ``custom_config`` carrying the schema path (a Struct packed in Any)."""
    config = example_gen_pb2.CustomConfig()
    config.custom_config.Pack(struct_pb2.Struct(fields={
        SCHEMA_PATH_KEY: struct_pb2.Value(string_value=schema_path)}))
    return config


def _schema_path(exec_properties: Dict[str, Any]) -> str:
    """The contract to validate against (from ``custom_config``; default the packaged one)."""
    raw = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    if not raw:
        return SCHEMA_PATH
    config = example_gen_pb2.CustomConfig()
    proto_utils.json_to_proto(raw, config)
    values = struct_pb2.Struct()
    if not config.custom_config.Unpack(values) or SCHEMA_PATH_KEY not in values.fields:
        return SCHEMA_PATH
    return values.fields[SCHEMA_PATH_KEY].string_value


class LogAnomaliesError(RuntimeError):
    """The span's logs break the contract; the message is the validation report."""


def _span_files(exec_properties: Dict[str, Any], pattern: str) -> List[str]:
    files = sorted(fileio.glob(os.path.join(
        exec_properties[standard_component_specs.INPUT_BASE_KEY], pattern)))
    if not files:
        raise LogAnomaliesError(f"no log file matches {pattern!r} under "
                                f"{exec_properties[standard_component_specs.INPUT_BASE_KEY]}")
    return files


def _write_accepted(columns: Dict[str, Any], folder: str, chunk_rows: int) -> List[str]:
    """Writes validated columns as Parquet files of ``chunk_rows`` rows; returns their paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_rows = len(next(iter(columns.values()))) if columns else 0
    fileio.makedirs(folder)
    paths = []
    for i, start in enumerate(range(0, n_rows, chunk_rows)):
        table = pa.table({k: pa.array(v[start:start + chunk_rows]) for k, v in columns.items()})
        path = os.path.join(folder, f"part-{i:05d}.parquet")
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer)
        with fileio.open(path, "wb") as fh:  # fileio: local disk or gs:// alike
            fh.write(buffer.getvalue().to_pybytes())
        paths.append(path)
    return paths


def split_of_ids(ids: np.ndarray, buckets: List[int]) -> np.ndarray:
    """Output split index of each row from its impression id (stable across runs, runners,
    processes and encoders, unlike TFX's hash of the serialized record: tf.Example maps
    serialize in a per-process order).

    Args:
      ids: [n] int64 impression ids.
      buckets: cumulative hash buckets of the output splits (e.g. [9, 10] for 9:1).

    Returns:
      [n] int split indices: bucket = splitmix64(id) mod buckets[-1], then the first split
      whose cumulative bound exceeds it.
    """
    with np.errstate(over="ignore"):
        h = np.asarray(ids).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
    return np.searchsorted(np.asarray(buckets, np.uint64), h % np.uint64(buckets[-1]),
                           side="right")


def _keyed_examples_of_chunk(path: str, buckets: List[int]) -> List[Tuple[int, bytes]]:
    """(split index, serialized tf.Example) of each row of one Parquet chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lt4rec.schemas import names  # deferred: with encode_batch below
    from lt4rec.schemas.examples import encode_batch  # deferred: loads TensorFlow's protos

    with fileio.open(path, "rb") as fh:
        table = pq.read_table(pa.BufferReader(fh.read()))
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    splits = split_of_ids(columns[names.IMPRESSION_ID], buckets).tolist()
    return list(zip(splits, encode_batch(columns)))


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
def _KeyedExamples(pipeline: beam.Pipeline, chunks: List[str],  # noqa: N802
                   buckets: List[int]) -> beam.pvalue.PCollection:
    """PTransform: Parquet chunks of validated rows -> (split index, serialized Example)."""
    return (pipeline
            | "ListChunks" >> beam.Create(chunks)
            | "ReshuffleChunks" >> beam.Reshuffle()
            | "ChunkToExamples" >> beam.FlatMap(_keyed_examples_of_chunk, buckets))


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(bytes)
def _LogsToExamples(pipeline: beam.Pipeline, exec_properties: Dict[str, Any],  # noqa: N802
                    split_pattern: str) -> beam.pvalue.PCollection:
    """PTransform: the validated rows of one (resolved) split pattern -> serialized Examples.

    ``Executor.Do`` validated the split's files and left the accepted rows as Parquet chunks
    (``ACCEPTED_KEY``); the workers encode the chunks in parallel.
    """
    chunks = json.loads(exec_properties[ACCEPTED_KEY])[split_pattern]
    return pipeline | "Keyed" >> _KeyedExamples(chunks, [1]) | "Values" >> beam.Values()


class Executor(BaseExampleGenExecutor):
    """Schema-typed, validated ExampleGen over the daily log folders."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:  # noqa: N802
        return _LogsToExamples

    def GenerateExamplesByBeam(self, pipeline, exec_properties):  # noqa: N802
        """{output split name: serialized Examples}, split by impression id (``split_of_ids``)
        instead of TFX's hash of each serialized record."""
        input_config, output_config = example_gen_pb2.Input(), example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
                                  input_config)
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY],
                                  output_config)
        splits = output_config.split_config.splits
        if len(input_config.splits) != 1 or not splits:
            raise ValueError("LogExampleGen reads one input split (the day) and writes hash "
                             f"output splits. Received: input {input_config}, output "
                             f"{output_config}")
        buckets = np.cumsum([s.hash_buckets for s in splits]).tolist()
        chunks = json.loads(exec_properties[ACCEPTED_KEY])[input_config.splits[0].pattern]
        parts = (pipeline
                 | "InputToRecord" >> _KeyedExamples(chunks, buckets)
                 | "SplitData" >> beam.Partition(lambda kv, _n: kv[0], len(splits)))
        return {split.name: part | f"Values[{split.name}]" >> beam.Values()
                for split, part in zip(splits, parts)}

    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
                                  input_config)
        examples = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY])
        staging = os.path.join(examples.uri, ACCEPTED_DIR)
        chunks = {split.pattern: self._validate_split(split, examples, exec_properties,
                                                      os.path.join(staging, str(i)))
                  for i, split in enumerate(input_config.splits)}
        try:
            super().Do(input_dict, output_dict,
                       dict(exec_properties, **{ACCEPTED_KEY: json.dumps(chunks)}))
        finally:
            if fileio.exists(staging):
                fileio.rmtree(staging)

    @staticmethod
    def _validate_split(split, examples, exec_properties, staging: str) -> List[str]:
        """Validates one input split's files (report under ``validation/``); returns the
        Parquet chunks of its accepted rows.

        Raises:
          LogAnomaliesError: any anomaly, or no accepted row (the report is the message).
        """

        files = _span_files(exec_properties, split.pattern)
        report_dir = os.path.join(examples.uri, VALIDATION_DIR, split.name or "all")
        result = validate_logs(files, report_dir=report_dir, use_tfdv=False,
                               schema_path=_schema_path(exec_properties))
        if not result.ok or result.rows_accepted == 0:
            raise LogAnomaliesError(f"logs of {split.pattern!r} break the contract; nothing "
                                    f"was written.\n" + format_report(result))
        examples.set_int_custom_property("rows_read", result.rows_read)
        examples.set_int_custom_property("rows_accepted", result.rows_accepted)
        return _write_accepted(result.accepted, staging, CHUNK_ROWS)


def span_of_date(year: int, month: int, day: int) -> int:
    """TFX's span number of a day folder (days since 1970-01-01)."""
    return example_gen_utils.date_to_span_number(year, month, day)
