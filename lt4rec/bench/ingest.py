"""ExampleGen + Transform rows/s: the pipeline's ingest stages on one simulated day.

Simulates one day of ROWS impressions, then runs a pipeline of just LogExampleGen (row
validation against the contract + tf.Example encoding, train/eval hash split),
ImportSchemaGen and Transform (models/preprocess.py: preprocessing_fn, as the full pipeline
configures it) on this machine with LocalDagRunner and the pipeline's Beam options
(DirectRunner, 2 worker processes, unless --beam-arg says otherwise). Each stage's wall time
is the launcher's (driver, executor, publishing to ML Metadata, Beam start-up included);
rows/s = ROWS / that time. A second, small day (SMALL_ROWS) gives the marginal rate
(ROWS - SMALL_ROWS) / (time - small time), which the fixed start-up costs do not dilute.
Importing TFX and the pipeline code is timed separately and is not
in any stage (it is 0 when something imported TFX earlier in the same process).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time

from lt4rec.bench import common, workload
from lt4rec.schemas.contract import SCHEMA_PATH
from lt4rec.schemas import logs as log_layout

STAGES = ("LogExampleGen", "ImportSchemaGen", "Transform")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000,
                        help="simulated impressions in the day (100,000)")
    parser.add_argument("--small-rows", type=int, default=2_000,
                        help="also run a day of this many rows and report the marginal rows/s "
                             "(rows - small_rows) / (time - small time), free of start-up "
                             "costs; 0 = skip (2,000)")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed (0)")
    workload.add_config_argument(parser)
    parser.add_argument("--beam-arg", action="append", default=None,
                        help="Beam pipeline option, repeatable (default: the local pipeline's "
                             "--direct_running_mode=multi_processing --direct_num_workers=2)")


def _import_tfx() -> float:
    """Seconds spent importing TFX and the pipeline's components (0 if already imported)."""
    already = "tfx" in sys.modules
    started = time.perf_counter()
    from tfx import v1 as tfx  # noqa: F401

    import lt4rec.components.log_example_gen  # noqa: F401  # deferred: timed TFX import
    import lt4rec.pipeline.local_runner  # noqa: F401  # deferred: timed TFX import
    return 0.0 if already else time.perf_counter() - started


def run_stages(log_dir: str, root: str, day: dt.date, config, beam_args) -> dict:
    """Runs LogExampleGen -> ImportSchemaGen -> Transform for ``day``.

    Returns:
      {"run_seconds": whole run, "stage_seconds": {stage in STAGES: seconds}}.
    """
    from tfx import v1 as tfx

    from lt4rec.components.log_example_gen import LogExampleGen  # deferred: TFX
    from lt4rec.components.log_example_gen.executor import span_of_date  # deferred: TFX
    from lt4rec.models.preprocess import transform_custom_config  # deferred: TFX
    from lt4rec.pipeline import progress  # deferred: TFX

    example_gen = LogExampleGen(input_base=log_dir, schema_path=SCHEMA_PATH,
                                span=span_of_date(day.year, day.month, day.day))
    schema_gen = tfx.components.ImportSchemaGen(schema_file=SCHEMA_PATH)
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
        preprocessing_fn="lt4rec.models.preprocess.preprocessing_fn",
        custom_config=transform_custom_config(config.features), disable_statistics=True)
    pipe = tfx.dsl.Pipeline(
        pipeline_name="lt4rec_bench_ingest", pipeline_root=os.path.join(root, "pipeline"),
        components=[example_gen, schema_gen, transform], enable_cache=False,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(root, "metadata.db")),
        beam_pipeline_args=list(beam_args))
    started = time.perf_counter()
    with progress.timed_run() as timer:
        tfx.orchestration.LocalDagRunner().run(pipe)
    nodes = dict(zip(STAGES, (example_gen.id, schema_gen.id, transform.id)))
    return {"run_seconds": time.perf_counter() - started,
            "stage_seconds": {stage: timer.seconds[node] for stage, node in nodes.items()}}


def measure(rows: int, seed: int, config, beam_args) -> dict:
    """Simulates one day of ``rows`` rows and times the ingest stages on it."""
    from lt4rec.pipeline.local_runner import log_days  # deferred: TFX

    with workload.simulated_logs(1, rows, seed) as logs, \
            tempfile.TemporaryDirectory(prefix="lt4rec_bench_ingest_") as root:
        csv_bytes = sum(os.path.getsize(p) for p, _ in log_layout.find_log_files(logs))
        timing = run_stages(logs, root, log_days(logs)[0], config, beam_args)
    seconds = dict(timing["stage_seconds"])
    import_schema_s = seconds.pop("ImportSchemaGen")  # reads no rows
    seconds["ExampleGen+Transform"] = seconds["LogExampleGen"] + seconds["Transform"]
    return {"rows": rows, "csv_bytes": csv_bytes, "run_seconds": timing["run_seconds"],
            "import_schema_gen_seconds": import_schema_s,
            "stages": {k: {"seconds": v, "rows_per_s": rows / v} for k, v in seconds.items()}}


def main(args: argparse.Namespace) -> int:
    import_s = _import_tfx()
    from lt4rec.pipeline.local_runner import DEFAULT_BEAM_ARGS  # deferred: TFX

    if args.rows < 1 or not 0 <= args.small_rows < args.rows:
        raise ValueError(f"--rows must be >= 1 and --small-rows in [0, rows). Received: "
                         f"rows={args.rows}, small_rows={args.small_rows}")
    config = workload.variant_config("sparse_weight", args.config)
    beam_args = args.beam_arg or list(DEFAULT_BEAM_ARGS)
    runs = [measure(args.rows, args.seed, config, beam_args)]
    if args.small_rows:
        runs.append(measure(args.small_rows, args.seed, config, beam_args))
    big = runs[0]
    rows = []
    for stage, figures in big["stages"].items():
        if len(runs) > 1:  # rows/s of the extra rows: start-up costs cancel out
            extra_s = figures["seconds"] - runs[1]["stages"][stage]["seconds"]
            figures["marginal_rows_per_s"] = ((args.rows - args.small_rows) / extra_s
                                              if extra_s > 0 else None)  # noise beat the gap
            figures["small_run_seconds"] = runs[1]["stages"][stage]["seconds"]
        rows.append([stage, round(figures["seconds"], 2), figures["rows_per_s"]]
                    + ([round(figures["small_run_seconds"], 2), figures["marginal_rows_per_s"]]
                       if len(runs) > 1 else []))
    headers = ["stage", f"wall s ({args.rows:,} rows)", "rows/s"]
    if len(runs) > 1:
        headers += [f"wall s ({args.small_rows:,} rows)", "marginal rows/s"]
    print(common.format_table(headers, rows))
    print(f"TFX + pipeline import: {import_s:.1f} s (not in the stages); whole LocalDagRunner "
          f"run: {big['run_seconds']:.1f} s for {args.rows:,} rows")
    result = {"rows": args.rows, "csv_bytes": big["csv_bytes"], "stages": big["stages"],
              "tfx_import_seconds": import_s, "run_seconds": big["run_seconds"],
              "import_schema_gen_seconds": big["import_schema_gen_seconds"],
              "small_run": runs[1] if len(runs) > 1 else None,
              "beam_pipeline_args": beam_args, "seed": args.seed}
    path = common.write_result("ingest", result, args.out_dir or common.DEFAULT_OUT_DIR)
    print(f"wrote {path}")
    return 0
