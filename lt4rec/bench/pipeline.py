"""One pipeline day end to end at several sizes, and LogExampleGen vs TFX's CsvExampleGen.

For each --rows size: simulate one day, run the whole pipeline on it (LogExampleGen ->
statistics/schema/anomaly gate -> Transform -> MaskGen -> SparseTrainer -> Evaluator ->
DualPusher) with LocalDagRunner and the pipeline's Beam options, and record every
component's wall time (launcher's, Beam start-up included), rows/s = rows / time, and the
peak resident memory of this process plus all its child processes (Beam workers), sampled
every 0.2 s while the component ran. Between consecutive sizes, the marginal seconds per
100k rows of each component = (time difference) / (row difference) x 100k: what one more
100k rows cost once start-up costs cancel out.

Ingest comparison: on the first size's file, a pipeline of just LogExampleGen and one of just
CsvExampleGen (TFX's, type inference, no validation) run on the same rows with the same Beam
options; ratio = CsvExampleGen seconds / LogExampleGen seconds (>= 1: LogExampleGen, which
validates every row, is not slower). Also the CPU seconds per 100k rows of LogExampleGen's
steps (validation, vectorised encoding, and the row-by-row encoding it replaced).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from typing import Dict, List

from lt4rec.bench import common, workload

ROWS = (100_000, 300_000, 1_000_000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, nargs="+", default=list(ROWS),
                        help="day sizes to run, ascending (100000 300000 1000000)")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed (0)")
    workload.add_config_argument(parser)
    parser.add_argument("--beam-arg", action="append", default=None,
                        help="Beam pipeline option, repeatable (default: the local pipeline's)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--skip-ingest", action="store_true",
                       help="skip the LogExampleGen vs CsvExampleGen comparison")
    which.add_argument("--ingest-only", action="store_true",
                       help="only the ingest comparison (on the first --rows size); writes "
                            "pipeline_ingest.json")


class PeakMemory:
    """Peak RSS (bytes) of this process and its children, sampled in a thread, per label."""

    def __init__(self, interval_s: float = 0.2):
        import psutil  # deferred: only benchmarks sample memory
        self._process = psutil.Process()
        self._interval = interval_s
        self.peaks: Dict[str, int] = {}
        self._label = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # noqa: BLE001 (a child that just exited)
                pass
        return total

    def _run(self):
        while not self._stop.wait(self._interval):
            label = self._label
            if label is not None:
                self.peaks[label] = max(self.peaks.get(label, 0), self._rss())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def label(self, name):
        self._label = name


def _hook_labels(memory: PeakMemory):
    """Points ``memory`` at the component that is running (wraps the TFX launcher)."""
    from tfx.orchestration.portable import launcher

    original = launcher.Launcher.launch

    def launch(self, *args, **kwargs):
        memory.label(self._pipeline_node.node_info.id)
        try:
            return original(self, *args, **kwargs)
        finally:
            memory.label(None)
    launcher.Launcher.launch = launch
    return lambda: setattr(launcher.Launcher, "launch", original)


def day_run(rows: int, seed: int, overrides, beam_args) -> dict:
    """Simulates one day of ``rows`` rows and runs the whole pipeline on it (``overrides``:
    model config overrides, or None)."""
    from lt4rec.pipeline import local_runner  # deferred: TFX, TensorFlow
    from lt4rec.pipeline.config import TrainingSettings  # deferred: with local_runner

    with workload.simulated_logs(1, rows, seed) as logs, \
            tempfile.TemporaryDirectory(prefix="lt4rec_bench_pipeline_") as root, \
            PeakMemory() as memory:
        unhook = _hook_labels(memory)
        try:
            run = local_runner.run_day(logs, root, local_runner.log_days(logs)[0],
                                       TrainingSettings(model_overrides=overrides),
                                       beam_pipeline_args=beam_args)
        finally:
            unhook()
    return {"rows": rows, "seconds": run.seconds, "pushed": bool(run.pushed_versions),
            "components": {name: {"seconds": s, "rows_per_s": rows / s if s > 0 else None,
                                  "peak_rss_gib": memory.peaks.get(name, 0) / 2 ** 30}
                           for name, s in run.component_seconds.items()}}


def ingest_comparison(rows: int, seed: int, beam_args) -> dict:
    """LogExampleGen and CsvExampleGen on the same simulated day (same Beam options)."""
    from tfx import v1 as tfx

    from lt4rec.components.log_example_gen import LogExampleGen  # deferred: TFX, TensorFlow
    from lt4rec.pipeline import progress  # deferred: TFX, TensorFlow
    from lt4rec.pipeline.local_runner import log_days  # deferred: TFX, TensorFlow

    out = {"rows": rows}
    with workload.simulated_logs(1, rows, seed) as logs, \
            tempfile.TemporaryDirectory(prefix="lt4rec_bench_csv_") as root:
        day = log_days(logs)[0]
        gens = {"LogExampleGen": LogExampleGen(input_base=logs),
                "CsvExampleGen": tfx.components.CsvExampleGen(
                    input_base=os.path.join(logs, day.isoformat()))}
        for name, component in gens.items():
            pipe = tfx.dsl.Pipeline(
                pipeline_name=f"bench_{name}", pipeline_root=os.path.join(root, name),
                components=[component], enable_cache=False, beam_pipeline_args=list(beam_args),
                metadata_connection_config=tfx.orchestration.metadata
                .sqlite_metadata_connection_config(os.path.join(root, f"{name}.db")))
            with progress.timed_run() as timer:
                tfx.orchestration.LocalDagRunner().run(pipe)
            seconds = timer.seconds[component.id]
            out[name] = {"seconds": seconds, "rows_per_s": rows / seconds}
        out["cpu"] = ingest_cpu(logs)
    out["ratio_csv_over_log_seconds"] = (out["CsvExampleGen"]["seconds"]
                                         / out["LogExampleGen"]["seconds"])
    return out


def ingest_cpu(log_dir: str) -> dict:
    """CPU seconds per 100k rows of LogExampleGen's steps on one file, in this process:
    validation (the launcher's pass), the vectorised encoding the workers run, and the
    row-by-row encoding it replaced. CPU time, unlike wall time, hardly moves with the load
    of other processes, so it is the figure to size workers from."""
    from lt4rec.schemas import logs as log_layout  # deferred: TFX, TensorFlow
    from lt4rec.schemas.examples import encode_batch, encode_rows  # deferred: TFX, TensorFlow
    from lt4rec.schemas.validation import validate_logs  # deferred: TFX, TensorFlow

    path = next(p for p, _ in log_layout.find_log_files(log_dir))
    out = {}
    started = time.process_time()
    result = validate_logs(path, report_dir=None, use_tfdv=False)
    out["validate"] = time.process_time() - started
    for name, encode in (("encode_batch", encode_batch),
                         ("encode_rows", lambda c: list(encode_rows(c)))):
        started = time.process_time()
        encode(result.accepted)
        out[name] = time.process_time() - started
    scale = 100_000 / result.rows_accepted
    return {f"{k}_cpu_s_per_100k": v * scale for k, v in out.items()}


def marginal(runs: List[dict]) -> Dict[str, List[dict]]:
    """Per component: seconds per extra 100k rows between consecutive sizes."""
    out: Dict[str, List[dict]] = {}
    for small, big in zip(runs, runs[1:]):
        extra = (big["rows"] - small["rows"]) / 100_000
        for name, figures in big["components"].items():
            before = small["components"].get(name, {}).get("seconds", 0.0)
            out.setdefault(name, []).append({
                "from_rows": small["rows"], "to_rows": big["rows"],
                "seconds_per_100k": (figures["seconds"] - before) / extra})
    return out


def _plot(runs: List[dict], path: str) -> None:
    import matplotlib  # deferred: plotting only
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in runs[-1]["components"] if runs[-1]["components"][n]["seconds"] >= 1]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    bottom = [0.0] * len(runs)
    for name in names:
        heights = [r["components"].get(name, {}).get("seconds", 0.0) for r in runs]
        ax.bar([f"{r['rows']:,}" for r in runs], heights, bottom=bottom, label=name)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_xlabel("rows in the day")
    ax.set_ylabel("wall seconds (stacked per component)")
    ax.set_title("One pipeline day on this machine (LocalDagRunner, DirectRunner)")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(args: argparse.Namespace) -> int:
    import json

    from lt4rec.pipeline.local_runner import DEFAULT_BEAM_ARGS  # deferred: TFX, TensorFlow

    if sorted(args.rows) != args.rows or args.rows[0] < 1:
        raise ValueError(f"--rows must be ascending and >= 1. Received: {args.rows}")
    overrides = None
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            overrides = json.load(fh)
    beam_args = args.beam_arg or list(DEFAULT_BEAM_ARGS)
    out_dir = args.out_dir or common.DEFAULT_OUT_DIR
    result = {"beam_pipeline_args": beam_args, "seed": args.seed, "runs": []}
    if not args.skip_ingest:
        result["ingest"] = ingest_comparison(args.rows[0], args.seed, beam_args)
        i = result["ingest"]
        print(f"ingest, {args.rows[0]:,} rows: LogExampleGen {i['LogExampleGen']['seconds']:.1f}"
              f" s, CsvExampleGen {i['CsvExampleGen']['seconds']:.1f} s, ratio "
              f"{i['ratio_csv_over_log_seconds']:.2f}; CPU s per 100k rows: "
              + ", ".join(f"{k} {v:.2f}" for k, v in i["cpu"].items()), flush=True)
        if args.ingest_only:
            print(f"wrote {common.write_result('pipeline_ingest', result, out_dir)}")
            return 0
    for rows in args.rows:
        result["runs"].append(day_run(rows, args.seed, overrides, beam_args))
        result["marginal"] = marginal(result["runs"])
        path = common.write_result("pipeline", result, out_dir)  # after each size
        _plot(result["runs"], os.path.join(out_dir, "pipeline.png"))
        print(f"{rows:,} rows: {result['runs'][-1]['seconds']:.0f} s; wrote {path}", flush=True)
    table = [[name] + [r["components"].get(name, {}).get("seconds", float("nan"))
                       for r in result["runs"]]
             + [r["components"].get(name, {}).get("peak_rss_gib", float("nan"))
                for r in result["runs"][-1:]]
             for name in result["runs"][-1]["components"]]
    print(common.format_table(["component"] + [f"s @ {r:,}" for r in args.rows]
                              + ["peak GiB (largest)"], table))
    return 0
