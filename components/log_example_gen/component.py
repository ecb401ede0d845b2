"""LogExampleGen component: FileBasedExampleGen with LT4REC's validating executor."""

from __future__ import annotations

from typing import Optional

from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2

from lt4rec.components.log_example_gen import executor
from lt4rec.schemas import logs
from lt4rec.schemas.contract import SCHEMA_PATH


def LogExampleGen(input_base: str, span: Optional[int] = None,  # noqa: N802 (TFX style)
                  eval_buckets: int = 1, train_buckets: int = 9,
                  schema_path: str = SCHEMA_PATH) -> FileBasedExampleGen:
    """ExampleGen over ``input_base/YYYY-MM-DD/*.csv``: one day (span) per run.

    Args:
      input_base: the log root.
      span: the day to read as TFX span number (``executor.span_of_date``); None = the
        latest day folder.
      train_buckets, eval_buckets: hash split of the day's rows into train / eval.
      schema_path: the contract the rows are validated against (the pipeline passes the same
        schema ImportSchemaGen imports, so both checks agree).
    """
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name="day", pattern=logs.LOG_SPAN_PATTERN)])
    output_config = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=train_buckets),
        example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=eval_buckets)]))
    range_config = None
    if span is not None:
        range_config = range_config_pb2.RangeConfig(static_range=range_config_pb2.StaticRange(
            start_span_number=span, end_span_number=span))
    return FileBasedExampleGen(
        input_base=input_base, input_config=input_config, output_config=output_config,
        range_config=range_config, custom_config=executor.custom_config(schema_path),
        custom_executor_spec=executor_spec.BeamExecutorSpec(executor.Executor))
