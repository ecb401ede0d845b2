"""Simulates the study worlds named on the command line (ladder=label) without running their
experiments, so `lt4rec tune` can read a world's logs first: python sim_only.py STUDY POINT..."""
import os
import sys

from lt4rec.experiment.study import SPEC_DIR, load_spec, simulate_world

spec = load_spec(os.path.join(SPEC_DIR, "regime.json"))
for name in sys.argv[2:]:
    ladder, label = name.split("=", 1)
    point = next(p for p in spec.points if p.ladder == ladder and p.label == label)
    print(name, "->", simulate_world(spec, point, sys.argv[1]))
