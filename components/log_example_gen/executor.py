"""Executor of LogExampleGen: validate the span's log files, then write typed tf.Examples.

Before any Example is written, every file of the span (the day the driver resolved from the
``{YYYY}-{MM}-{DD}`` pattern) goes through ``lt4rec.schemas.validation`` -- the same rules as
``lt4rec validate``. Its report and quarantine land in ``<examples uri>/validation/``; any
anomaly (a bad row, a missing column, an empty day) fails the component with the report, so
nothing downstream runs on a broken day. Accepted rows become tf.Examples typed by the
contract (``lt4rec.schemas.examples``), not by type inference.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List

import apache_beam as beam
from google.protobuf import struct_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from lt4rec.schemas.contract import SCHEMA_PATH
from lt4rec.schemas.examples import encode_rows
from lt4rec.schemas.validation import format_report, validate_logs

VALIDATION_DIR = "validation"
SCHEMA_PATH_KEY = "schema_path"


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


def _examples_of_file(path: str, schema_path: str) -> Iterator[bytes]:
    # Parsing a file to typed columns is the validator's job too, so the workers reuse it; the
    # driver already ran it once in ``Executor.Do`` to gate the run and write the report.
    result = validate_logs(path, report_dir=None, use_tfdv=False, schema_path=schema_path)
    yield from encode_rows(result.accepted)


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(bytes)
def _LogsToExamples(pipeline: beam.Pipeline, exec_properties: Dict[str, Any],  # noqa: N802
                    split_pattern: str) -> beam.pvalue.PCollection:
    """PTransform: the files of one (resolved) split pattern -> serialized tf.Examples."""
    return (pipeline
            | "ListFiles" >> beam.Create(_span_files(exec_properties, split_pattern))
            | "ReshuffleFiles" >> beam.Reshuffle()
            | "FileToExamples" >> beam.FlatMap(_examples_of_file,
                                               _schema_path(exec_properties)))


class Executor(BaseExampleGenExecutor):
    """Schema-typed, validated ExampleGen over the daily log folders."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:  # noqa: N802
        return _LogsToExamples

    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
                                  input_config)
        examples = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY])
        report_root = os.path.join(examples.uri, VALIDATION_DIR)
        for split in input_config.splits:
            files = _span_files(exec_properties, split.pattern)
            report_dir = os.path.join(report_root, split.name or "all")
            result = validate_logs(files, report_dir=report_dir, use_tfdv=False,
                                   schema_path=_schema_path(exec_properties))
            if not result.ok or result.rows_accepted == 0:
                raise LogAnomaliesError(
                    f"logs of {split.pattern!r} break the contract; nothing was written.\n"
                    + format_report(result))
            examples.set_int_custom_property("rows_read", result.rows_read)
            examples.set_int_custom_property("rows_accepted", result.rows_accepted)
        super().Do(input_dict, output_dict, exec_properties)


def span_of_date(year: int, month: int, day: int) -> int:
    """TFX's span number of a day folder (days since 1970-01-01)."""
    return example_gen_utils.date_to_span_number(year, month, day)
