"""Run the LT4REC TFX pipeline locally, or compile it for Kubeflow.

  lt4rec pipeline run --data DIR --root DIR [--day YYYY-MM-DD | --days N] [--window W]
      LocalDagRunner with SQLite ML Metadata (ROOT/metadata.db) and Beam's DirectRunner in
      multi-processing mode. One run per day, oldest first: --day runs that day, --days N the
      last N days of DATA (default: the latest day). Day 1 searches the masks; later days
      reuse them (--regenerate-masks to search again) and warm-start from the last blessed
      model. --window W trains each day on the last W days' spans. Blessed models are pushed
      to ROOT/serving/{pctr,pcvr}/<version>/.
  lt4rec pipeline compile --kubeflow --image IMAGE --out FILE.json
      A Kubeflow Pipelines v2 spec; --pipeline-root/--data/--serving-root are cluster paths.

Beam arguments come from a config file, --beam-config FILE (JSON {"beam_pipeline_args": [...]};
templates in pipeline/beam/: dataflow, flink, spark, portable, local — name one to use it as
is), plus --beam-arg (repeatable) flags appended after the file's. `--beam-config portable`
submits to a Beam job service with an external worker pool (`lt4rec beam up` starts both on
127.0.0.1); --job-endpoint / --worker-pool HOST:PORT point it at other ones.
"""

import argparse
import datetime as dt
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="pipeline_command", metavar="ACTION")
    sub.required = True
    run = sub.add_parser("run", help="run the pipeline locally, one day at a time")
    run.add_argument("--data", required=True, help="log root with day folders YYYY-MM-DD/")
    run.add_argument("--root", required=True,
                     help="where artifacts, metadata.db and serving/ go")
    which = run.add_mutually_exclusive_group()
    which.add_argument("--day", help="the day to process, YYYY-MM-DD")
    which.add_argument("--days", type=int, help="process the last N days, oldest first")
    run.add_argument("--variant", default="sparse_weight", help="model variant (sparse_weight)")
    run.add_argument("--config", help="JSON file of model config overrides")
    run.add_argument("--window", type=int, default=1,
                     help="train on a rolling window of the last N days' spans (1)")
    run.add_argument("--regenerate-masks", action="store_true",
                     help="search masks again instead of reusing the latest")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--blessing", help="JSON of Evaluator thresholds, e.g. "
                                        '{"min_ctr_auc": 0.6, "max_cvr_mse": 0.15}')
    run.add_argument("--beam-config", default="local",
                     help="Beam config file or template name (default: local = DirectRunner, "
                          "multi-processing, 2 workers)")
    run.add_argument("--beam-arg", action="append", default=[],
                     help="a Beam pipeline argument after the config file's, written "
                          "--beam-arg=--flag=value (repeatable)")
    _add_endpoint_arguments(run)
    comp = sub.add_parser("compile", help="compile for Kubeflow Pipelines v2")
    comp.add_argument("--kubeflow", action="store_true", required=True,
                      help="target Kubeflow Pipelines v2 (the only target)")
    comp.add_argument("--image", required=True, help="container image with LT4REC installed")
    comp.add_argument("--out", required=True, help="pipeline spec JSON to write")
    comp.add_argument("--pipeline-root", default="gs://YOUR_BUCKET/lt4rec/pipeline")
    comp.add_argument("--data", default="gs://YOUR_BUCKET/lt4rec/logs")
    comp.add_argument("--serving-root", default="gs://YOUR_BUCKET/lt4rec/serving")
    comp.add_argument("--variant", default="sparse_weight")
    comp.add_argument("--config", help="JSON file of model config overrides")
    comp.add_argument("--beam-config",
                      help="Beam config file or template name: dataflow, flink, spark")
    comp.add_argument("--beam-arg", action="append", default=[],
                      help="a Beam pipeline argument after the config file's, written "
                           "--beam-arg=--flag=value (repeatable)")
    _add_endpoint_arguments(comp)


def _add_endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--job-endpoint", metavar="HOST:PORT",
                        help="Beam job service of the portable runner (with --beam-config "
                             "portable; `lt4rec beam up` starts one)")
    parser.add_argument("--worker-pool", metavar="HOST:PORT",
                        help="external SDK worker pool of the portable runner")


def _config_json(path):
    if not path:
        return None
    with open(path, encoding="utf-8") as fh:
        return json.dumps(json.load(fh))


def _beam_args(args) -> list:
    from lt4rec.pipeline.beam import load_beam_args, with_endpoints
    beam = (load_beam_args(args.beam_config) if args.beam_config else []) + args.beam_arg
    return with_endpoints(beam, args.job_endpoint, args.worker_pool)


def main(args: argparse.Namespace) -> int:
    if args.pipeline_command == "compile":
        from lt4rec.pipeline.kubeflow_runner import compile_kubeflow
        out = compile_kubeflow(args.out, args.image, args.pipeline_root, args.data,
                               args.serving_root, args.variant, _config_json(args.config),
                               _beam_args(args))
        print(f"wrote Kubeflow Pipelines v2 spec {out}")
        return 0
    from lt4rec.pipeline import local_runner
    from lt4rec.pipeline.eval_config import BlessingConfig

    days = local_runner.log_days(args.data)
    if args.day:
        wanted = [dt.date.fromisoformat(args.day)]
        if wanted[0] not in days:
            raise ValueError(f"no log folder for {args.day} under {args.data}; "
                             f"days there: {[d.isoformat() for d in days]}")
    else:
        wanted = days[-(args.days or 1):]
    blessing = BlessingConfig(**json.loads(args.blessing)) if args.blessing else BlessingConfig()
    beam = _beam_args(args)
    for day in wanted:
        print(f"== pipeline run for {day} ==", file=sys.stderr, flush=True)
        result = local_runner.run_day(args.data, args.root, day, args.variant,
                                      _config_json(args.config), args.window,
                                      args.regenerate_masks, args.seed, blessing, beam)
        print(f"{result.day}: {result.seconds:.1f}s; serving versions: "
              f"{', '.join(result.pushed_versions) or 'none'}")
        for node, secs in result.component_seconds.items():
            print(f"  {node:<32} {secs:7.1f}s")
    print(f"pushed models: {args.root}/serving/pctr/<version>/, {args.root}/serving/pcvr/<version>/")
    return 0
