"""Run a regime study: the same variants x seeds along ladders of simulated worlds.

Every distinct world of the spec is simulated once and trained on once (``lt4rec simulate`` +
``lt4rec experiment`` under OUT/worlds/<key>/), so re-running the same command resumes a killed
study; ``--report-only`` rewrites OUT/study.json, study.md and the ladder PNGs from the worlds
finished so far, ``--points`` runs only some ladder points (LADDER=LABEL,...). The shipped spec,
lt4rec/experiment/studies/regime.json, is the issue's study: CVR data sparsity (ctr), rows per
day and CTR/CVR conflict strength, on the papers' split (8 training days, then one validation
and one test day).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys

from lt4rec.experiment.study import SPEC_DIR, collect, load_spec, run_world
from lt4rec.experiment.study_report import write_study_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", default=os.path.join(SPEC_DIR, "regime.json"),
                        help="study spec JSON (default: the shipped regime study)")
    parser.add_argument("--out", required=True, help="study folder (worlds/ + reports)")
    parser.add_argument("--points", default="",
                        help="only these points, comma-separated LADDER=LABEL (default all)")
    parser.add_argument("--seeds", type=int, default=None, help="override the spec's seeds")
    parser.add_argument("--tuned-dir", default=None,
                        help="an `lt4rec tune --out` folder whose configs every world's "
                             "experiment uses (overrides the spec's tuned_dir)")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing; write the reports from the finished worlds")


def main(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    if args.seeds is not None:
        spec = dataclasses.replace(spec, seeds=args.seeds)
    if args.tuned_dir is not None:
        spec = dataclasses.replace(spec, tuned_dir=args.tuned_dir)
    wanted = {p.strip() for p in args.points.split(",") if p.strip()}
    todo = [p for p in spec.points if not wanted or f"{p.ladder}={p.label}" in wanted]
    unknown = wanted - {f"{p.ladder}={p.label}" for p in spec.points}
    if unknown:
        raise ValueError(f"--points: unknown point(s) {sorted(unknown)}; the spec has "
                         f"{[f'{p.ladder}={p.label}' for p in spec.points]}")
    os.makedirs(args.out, exist_ok=True)
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if not args.report_only:
        seen = set()
        for point in todo:
            if point.key not in seen:
                seen.add(point.key)
                run_world(spec, point, args.out, say)
    study = collect(spec, args.out)
    command = "lt4rec study " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    study["command"] = command
    with open(os.path.join(args.out, "study.json"), "w", encoding="utf-8") as fh:
        json.dump(study, fh, indent=1, sort_keys=True)
    pngs = write_study_report(study, args.out, command)
    finished = sum(p["finished"] for pts in study["ladders"].values() for p in pts)
    total = sum(len(pts) for pts in study["ladders"].values())
    print(f"wrote {args.out}/study.md, study.json and {len(pngs)} ladder PNGs "
          f"({finished}/{total} points finished)")
    return 0
