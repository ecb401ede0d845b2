"""Run the LT4REC TFX pipeline locally, or compile it for Kubeflow.

  lt4rec pipeline run --data DIR --root DIR [--day YYYY-MM-DD | --days N] [--window W]
      LocalDagRunner with SQLite ML Metadata (ROOT/metadata.db) and Beam's DirectRunner in
      multi-processing mode. One run per day, oldest first: --day runs that day, --days N the
      last N days of DATA (default: the latest day). Day 1 searches the masks; later days
      reuse them (--regenerate-masks to search again) and warm-start from the last blessed
      model. --window W trains each day on the last W days' spans. Blessed models are pushed
      to ROOT/serving/{pctr,pcvr}/<version>/. A day not pushed says why, one line per missed
      threshold (metric, value, threshold, baseline); a day stopped by a gate names each
      anomaly or drifted feature. --accept-drift FEATURE[,FEATURE|all] lets a known shift
      through the drift gate for this run. --train-workers N trains MaskGen and
      SparseTrainer as N worker processes each (TF_CONFIG on 127.0.0.1).
  lt4rec pipeline compile --kubeflow --image IMAGE --out FILE.json
      A Kubeflow Pipelines v2 spec; --pipeline-root/--data/--serving-root are cluster paths.

Beam arguments come from a config file, --beam-config FILE (JSON {"beam_pipeline_args": [...]};
templates in pipeline/beam/: dataflow, flink, spark, portable, local — name one to use it as
is), plus --beam-arg (repeatable) flags appended after the file's. `--beam-config portable`
submits to a Beam job service with an external worker pool (`lt4rec beam up` starts both on
127.0.0.1); --job-endpoint / --worker-pool HOST:PORT point it at other ones.

`pipeline run`'s exit status tells a scheduler what happened (see `lt4rec pipeline run --help`).
"""

import argparse
import datetime as dt
import json
import os
import sys

import lt4rec
from lt4rec.pipeline import status
from lt4rec.pipeline.beam import load_beam_args, with_endpoints
from lt4rec.pipeline.config import (BlessingConfig, PipelineConfig, TrainingSettings,
                                    load_overrides)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="pipeline_command", metavar="ACTION")
    sub.required = True
    run = sub.add_parser("run", help="run the pipeline locally, one day at a time",
                         epilog=status.EXIT_STATUS_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
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
    run.add_argument("--tune", type=int, metavar="TRIALS", default=0,
                     help="run TFX's Tuner (the search of `lt4rec tune`) with TRIALS trials "
                          "on each day before MaskGen; its best hyper-parameters configure "
                          "MaskGen and SparseTrainer (0: no Tuner, the default)")
    run.add_argument("--train-workers", type=int, default=1, metavar="N",
                     help="MaskGen and SparseTrainer each train as N worker processes on this "
                          "host (MultiWorkerMirroredStrategy, TF_CONFIG on 127.0.0.1; "
                          "trainer.batch_size stays the global batch); 1: in-process (default)")
    run.add_argument("--accept-drift", default="", metavar="FEATURE[,FEATURE]",
                     help="let this run's days through the drift gate on these features "
                          "(a known shift; 'all' for every feature)")
    run.add_argument("--blessing", help="JSON of Evaluator thresholds, e.g. "
                                        '{"min_ctr_auc": 0.6, "max_cvr_mse": 0.15}')
    _retention_arguments(run)
    run.add_argument("--beam-config", default="local",
                     help="Beam config file or template name (default: local = DirectRunner, "
                          "multi-processing, 2 workers)")
    run.add_argument("--beam-arg", action="append", default=[],
                     help="a Beam pipeline argument after the config file's, written "
                          "--beam-arg=--flag=value (repeatable)")
    _add_endpoint_arguments(run)
    prune = sub.add_parser("prune", help="apply the retention policies to a local root now")
    prune.add_argument("--root", required=True, help="the root of `pipeline run`")
    _retention_arguments(prune)
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
    comp.add_argument("--tune", type=int, metavar="TRIALS", default=0,
                      help="include TFX's Tuner with TRIALS trials (0: no Tuner)")
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


def _training(args: argparse.Namespace) -> TrainingSettings:
    """The flags' ``TrainingSettings`` (compile has no seed/window/masks/blessing flags)."""
    blessing = getattr(args, "blessing", None)
    return TrainingSettings(
        variant=args.variant, model_overrides=load_overrides(args.config),
        seed=getattr(args, "seed", 0), window_days=getattr(args, "window", 1),
        regenerate_masks=getattr(args, "regenerate_masks", False),
        blessing=BlessingConfig(**json.loads(blessing)) if blessing else BlessingConfig(),
        tuning=_tuning(getattr(args, "tune", 0)),
        train_workers=getattr(args, "train_workers", 1))


def _retention_arguments(parser) -> None:
    parser.add_argument("--keep-versions", type=int, default=0, metavar="N",
                        help="after each day, keep the newest N serving versions per model "
                             "(always the newest, served one and the last blessed model's); "
                             "0 keeps all (default)")
    parser.add_argument("--keep-days", type=int, default=0, metavar="N",
                        help="after each day, delete pipeline artifacts last used before the "
                             "newest N days, except the last blessed model, the masks in use "
                             "and the drift baseline; 0 keeps all (default)")


def _prune(args) -> int:
    from lt4rec.pipeline import local_runner  # deferred: TFX/ML Metadata
    from lt4rec.pipeline.retention import RetentionPolicy  # deferred: ML Metadata
    policy = RetentionPolicy(args.keep_versions, args.keep_days)
    print(local_runner.apply_retention(args.root, policy).summary())
    return 0



def _beam_args(args) -> list:
    beam = (load_beam_args(args.beam_config) if args.beam_config else []) + args.beam_arg
    return with_endpoints(beam, args.job_endpoint, args.worker_pool)


def _tuning(trials: int):
    """The Tuner's search settings for ``--tune TRIALS`` (None for 0: no Tuner)."""
    if not trials:
        return None
    from lt4rec.models.tuning import SearchConfig  # deferred: TensorFlow, KerasTuner
    return SearchConfig(trials=trials)


def main(args: argparse.Namespace) -> int:
    if args.pipeline_command == "compile":
        from lt4rec.pipeline import kubeflow_runner  # deferred: TFX
        out = kubeflow_runner.compile_kubeflow(args.out, args.image, kubeflow_runner.image_config(
            PipelineConfig(pipeline_root=args.pipeline_root, data_root=args.data,
                           serving_root=args.serving_root, training=_training(args),
                           beam_pipeline_args=tuple(_beam_args(args)))))
        print(f"wrote Kubeflow Pipelines v2 spec {out}")
        return 0
    if args.pipeline_command == "prune":
        return _prune(args)
    from lt4rec.components.drift_gate import parse_accepted  # deferred: TFDV
    from lt4rec.pipeline import local_runner  # deferred: TFX
    from lt4rec.pipeline.retention import RetentionPolicy  # deferred: ML Metadata
    from lt4rec.schemas import contract  # deferred: TFMD protos

    training = _training(args)  # reads --config once: it may be a pipe
    days = local_runner.log_days(args.data)
    if args.day:
        wanted = [dt.date.fromisoformat(args.day)]
        if wanted[0] not in days:
            raise ValueError(f"no log folder for {args.day} under {args.data}; "
                             f"days there: {[d.isoformat() for d in days]}")
    else:
        wanted = days[-(args.days or 1):]
    beam = _beam_args(args)
    # An unknown feature is bad input (status 2) now, not a failed run after ExampleGen.
    accept_drift = parse_accepted(args.accept_drift, contract.load_schema_proto())
    # A rolling window reads the last W days' Examples: never delete inside it.
    policy = RetentionPolicy(args.keep_versions,
                             max(args.keep_days, args.window) if args.keep_days else 0)
    statuses = []
    for day in wanted:
        print(f"== pipeline run for {day} ==", file=sys.stderr, flush=True)
        result = local_runner.run_day(args.data, args.root, day, training, beam, accept_drift)
        _report(result, os.path.join(args.root, "serving"))
        if policy.keep_versions or policy.keep_days:
            print(local_runner.apply_retention(args.root, policy).summary())
        statuses.append(result.decision.exit_status)
        if result.decision.stopped:
            break
    return status.worst(statuses)


def _report(result, serving_root: str) -> None:
    """The day's outcome: pushed version, or one line per reason it was not pushed."""
    decision = result.decision
    if decision.pushed:
        print(f"{result.day}: pushed version {decision.version} in {result.seconds:.1f}s "
              f"(serving versions: {', '.join(result.pushed_versions)})")
    else:
        what = "STOPPED" if decision.stopped else "NOT PUSHED (model not blessed)"
        print(f"{result.day}: {what} after {result.seconds:.1f}s")
        for reason in decision.reasons:
            print(f"  - {reason}")
    if lt4rec.is_verbose():  # the progress lines above already give each node's time
        for node, secs in result.component_seconds.items():
            print(f"  {node:<32} {secs:7.1f}s")
    if decision.pushed:
        print(f"pushed models: {serving_root}/pctr/{decision.version}/, "
              f"{serving_root}/pcvr/{decision.version}/")
