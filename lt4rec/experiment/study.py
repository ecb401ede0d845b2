"""A regime study: the same variants x seeds along ladders of simulated worlds.

A study spec (JSON; ``lt4rec/experiment/studies/regime.json`` is the shipped one) names the
variants, the seeds, the day split, a base world (``SimulatorConfig`` overrides) and ladders;
each ladder is a list of points, and a point is a world (overrides on top of the base) with
optional ``rows_per_day``/``days``. For every distinct world the study simulates the logs once
(``lt4rec simulate``) and runs one experiment (``lt4rec experiment``) on them, each in its own
folder under OUT/worlds/<key>/, so a point shared by two ladders (the base world) runs once and
a killed study resumes where it stopped (both commands are resumable). It then writes
OUT/study.json, OUT/study.md and one PNG per ladder: per point, every variant's test CVR MSE and
CTR AUC (mean ± std over seeds) and, for the spec's ``reference`` variant against each
``compare_to`` variant, the paired per-seed difference with its 95% interval and paired-test p.

Never a knob of the simulator's story is changed here: a point only sets existing knobs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shlex
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

from lt4rec.experiment.stats import paired_test, summarize

SPEC_DIR = os.path.join(os.path.dirname(__file__), "studies")
METRICS = ("cvr_mse", "ctr_auc")
SINGLE_TASK = "single_task"


@dataclasses.dataclass(frozen=True)
class Point:
    """One world of a ladder: ``label`` on the plot, its simulator overrides and size."""
    ladder: str
    label: str
    world: Dict
    rows_per_day: int
    days: int
    world_seed: int

    @property
    def key(self) -> str:
        """Folder name shared by every point with the same world, size and seed."""
        blob = json.dumps([self.world, self.rows_per_day, self.days, self.world_seed],
                          sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:10]


@dataclasses.dataclass(frozen=True)
class StudySpec:
    """A parsed study spec; see the module docstring."""
    name: str
    variants: List[str]
    seeds: int
    reference: str
    compare_to: List[str]
    experiment_config: Dict
    points: List[Point]
    tuned_dir: Optional[str] = None


def load_spec(path: str) -> StudySpec:
    """Reads and checks a study spec.

    Raises:
      ValueError: a missing or unknown key, or a reference/compare_to not among the variants.
    """
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    known = {"name", "description", "variants", "seeds", "reference", "compare_to", "days",
             "rows_per_day", "world_seed", "base_world", "experiment_config", "ladders",
             "tuned_dir"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{path}: unknown study key(s) {unknown}; known: {sorted(known)}")
    for key in ("name", "variants", "reference", "ladders"):
        if key not in raw:
            raise ValueError(f"{path}: study key {key!r} is required")
    variants = list(raw["variants"])
    compare = list(raw.get("compare_to", [v for v in variants if v != raw["reference"]]))
    missing = sorted({raw["reference"], *compare} - set(variants))
    if missing:
        raise ValueError(f"{path}: reference/compare_to {missing} are not in variants {variants}")
    base = dict(raw.get("base_world", {}))
    points = []
    for ladder, entries in raw["ladders"].items():
        for entry in entries:
            points.append(Point(ladder, str(entry["label"]), {**base, **entry.get("world", {})},
                                int(entry.get("rows_per_day", raw.get("rows_per_day", 50_000))),
                                int(entry.get("days", raw.get("days", 10))),
                                int(raw.get("world_seed", 11))))
    return StudySpec(raw["name"], variants, int(raw.get("seeds", 5)), raw["reference"], compare,
                     dict(raw.get("experiment_config", {})), points, raw.get("tuned_dir"))


def _run(cmd: List[str], log_path: str) -> None:
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        log.flush()
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed (exit {proc.returncode}); see {log_path}")


def simulate_world(spec: StudySpec, point: Point, out_dir: str, say=print) -> str:
    """Simulates ``point``'s logs once (a finished simulation is kept) and writes the world's
    experiment config; returns the world's folder (logs/, world.json, commands.log)."""
    folder = os.path.join(out_dir, "worlds", point.key)
    os.makedirs(folder, exist_ok=True)
    log_path = os.path.join(folder, "commands.log")
    lt4rec = [sys.executable, "-m", "lt4rec.cli"]
    logs_dir = os.path.join(folder, "logs")
    if not os.path.exists(os.path.join(logs_dir, "_simulation.json")):
        world_file = os.path.join(folder, "world.json")
        with open(world_file, "w", encoding="utf-8") as fh:
            json.dump(point.world, fh, indent=1, sort_keys=True)
        say(f"study {spec.name}: simulating {point.ladder}={point.label} "
            f"({point.days} days x {point.rows_per_day:,} rows) -> {folder}")
        _run(lt4rec + ["simulate", "--out", logs_dir, "--days", str(point.days),
                       "--rows-per-day", str(point.rows_per_day), "--seed",
                       str(point.world_seed), "--config", world_file, "--no-ground-truth"],
             log_path)
    config_file = os.path.join(folder, "experiment_config.json")
    with open(config_file, "w", encoding="utf-8") as fh:
        json.dump(spec.experiment_config, fh, indent=1, sort_keys=True)
    return folder


def run_world(spec: StudySpec, point: Point, out_dir: str, say=print) -> str:
    """Simulates ``point``'s logs (once) and runs the experiment on them (resumable).

    Returns:
      The world's folder (logs/, experiment/report.json, world.json, commands.log).
    """
    folder = simulate_world(spec, point, out_dir, say)
    log_path = os.path.join(folder, "commands.log")
    lt4rec = [sys.executable, "-m", "lt4rec.cli"]
    logs_dir = os.path.join(folder, "logs")
    config_file = os.path.join(folder, "experiment_config.json")
    say(f"study {spec.name}: experiment at {point.ladder}={point.label} "
        f"({len(spec.variants)} variants x {spec.seeds} seeds)")
    cmd = lt4rec + ["experiment", "--data", logs_dir, "--variants", ",".join(spec.variants),
                    "--seeds", str(spec.seeds), "--out", os.path.join(folder, "experiment"),
                    "--config", config_file, "--quiet",
                    "--note", f"study {spec.name}, world {json.dumps(point.world, sort_keys=True)}"]
    if spec.tuned_dir:
        cmd += ["--tuned-dir", spec.tuned_dir]
    _run(cmd, log_path)
    return folder


def paired_difference(a: Sequence[float], b: Sequence[float]) -> Dict:
    """Mean of the per-seed differences a − b, its 95% t interval, relative to mean(b), and p.

    Args:
      a, b: one value per seed, seed i of ``a`` paired with seed i of ``b``.
    """
    from scipy import stats

    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    n, base = len(d), float(np.mean(b))
    half = (float(stats.t.ppf(0.975, n - 1) * np.std(d, ddof=1) / math.sqrt(n))
            if n > 1 else None)
    mean = float(np.mean(d))
    return {"mean": mean, "ci95": [mean - half, mean + half] if half is not None else None,
            "relative": mean / base if base else None,
            "relative_ci95": ([(mean - half) / base, (mean + half) / base]
                              if half is not None and base else None),
            "p_value": paired_test(list(a), list(b))["p_value"], "n": n}


def summarize_world(report: Dict, spec: StudySpec) -> Dict:
    """Per variant mean/std/values of the test metrics, and reference − comparator diffs."""
    variants = report["variants"]
    out = {"variants": {}, "reference_minus": {}}
    for v in spec.variants:
        if v in variants:
            out["variants"][v] = {m: summarize(variants[v]["test"][m]["values"])
                                  for m in METRICS}
    ref = variants.get(spec.reference)
    for other in spec.compare_to:
        if ref is None or other not in variants:
            continue
        out["reference_minus"][other] = {m: _paired(ref, variants[other], m) for m in METRICS}
    out["minus_single_task"] = _minus_single_task(variants, spec)
    out["mechanism"] = _mechanism(report.get("diagnostics", {}), spec)
    return out


def _paired(a: Dict, b: Dict, metric: str) -> Dict:
    seeds = sorted(set(a["seeds"]) & set(b["seeds"]))
    pick = lambda run: [run["test"][metric]["values"][run["seeds"].index(s)]  # noqa: E731
                        for s in seeds]
    return paired_difference(pick(a), pick(b))


def _minus_single_task(variants: Dict, spec: StudySpec) -> Dict:
    """Every variant − SingleTask: does any sharing help CVR in this world at all?"""
    base = variants.get(SINGLE_TASK)
    if base is None:
        return {}
    return {v: {m: _paired(variants[v], base, m) for m in METRICS}
            for v in spec.variants if v != SINGLE_TASK and v in variants}


def _mechanism(diagnostics: Dict, spec: StudySpec) -> Dict:
    """Per variant, the report's item-1 evidence in two numbers: the CTR:CVR ratio of summed
    gradient norms reaching the shared parts, and the mean over sNET layers of the two tasks'
    mask Jaccard next to what independent masks of the same densities would give."""
    out = {}
    for v in spec.variants:
        diag = diagnostics.get(v, {})
        entry = {}
        ratio = diag.get("gradient_balance", {}).get("grad_norm_ratio")
        if ratio:
            entry["grad_norm_ratio"] = ratio["mean"]
        layers = diag.get("mask_sharing")
        if layers:
            entry["mask_jaccard"] = float(np.mean([l["jaccard"]["mean"] for l in layers]))
            entry["mask_jaccard_if_independent"] = float(
                np.mean([l["jaccard_if_independent"]["mean"] for l in layers]))
        if entry:
            out[v] = entry
    return out


def collect(spec: StudySpec, out_dir: str) -> Dict:
    """study.json's content from every finished world."""
    ladders: Dict[str, List[Dict]] = {}
    for point in spec.points:
        path = os.path.join(out_dir, "worlds", point.key, "experiment", "report.json")
        entry = {"label": point.label, "world": point.world, "rows_per_day": point.rows_per_day,
                 "days": point.days, "key": point.key, "finished": os.path.exists(path)}
        if entry["finished"]:
            with open(path, encoding="utf-8") as fh:
                entry.update(summarize_world(json.load(fh), spec))
        ladders.setdefault(point.ladder, []).append(entry)
    return {"name": spec.name, "variants": spec.variants, "seeds": spec.seeds,
            "reference": spec.reference, "compare_to": spec.compare_to,
            "experiment_config": spec.experiment_config, "tuned_dir": spec.tuned_dir,
            "ladders": ladders}
