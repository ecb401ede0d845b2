"""Simulate the study worlds named on the command line (ladder=label), as lt4rec study would."""
import json, os, sys
from lt4rec.experiment.study import load_spec, SPEC_DIR, _run
spec = load_spec(os.path.join(SPEC_DIR, "regime.json"))
out = sys.argv[1]
for name in sys.argv[2:]:
    ladder, label = name.split("=", 1)
    point = next(p for p in spec.points if p.ladder == ladder and p.label == label)
    folder = os.path.join(out, "worlds", point.key)
    os.makedirs(folder, exist_ok=True)
    logs = os.path.join(folder, "logs")
    if os.path.exists(os.path.join(logs, "_simulation.json")):
        print(name, "->", folder, "(exists)"); continue
    wf = os.path.join(folder, "world.json")
    json.dump(point.world, open(wf, "w"), indent=1, sort_keys=True)
    _run([sys.executable, "-m", "lt4rec.cli", "simulate", "--out", logs, "--days", str(point.days),
          "--rows-per-day", str(point.rows_per_day), "--seed", str(point.world_seed), "--config", wf,
          "--no-ground-truth"], os.path.join(folder, "commands.log"))
    cf = os.path.join(folder, "experiment_config.json")
    json.dump(spec.experiment_config, open(cf, "w"), indent=1, sort_keys=True)
    print(name, "->", folder)
