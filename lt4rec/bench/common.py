"""What every benchmark shares: machine facts, timing statistics and the JSON it writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from typing import Dict, List, Sequence

import numpy as np

# Where `lt4rec bench NAME` writes NAME.json unless --out says otherwise (README links it).
DEFAULT_OUT_DIR = os.path.join("docs", "results", "bench")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=False, cwd=os.path.dirname(__file__))
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def machine_info() -> Dict[str, object]:
    """The machine a figure was measured on: CPU, cores, memory, accelerators, versions."""
    import tensorflow as tf  # benchmarks import TF anyway; keep `lt4rec --help` fast

    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError):
        mem_gib = float("nan")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "platform": platform.platform(),
        "load_average_1m": os.getloadavg()[0],
        "git_commit": _git_commit(),
        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def latency_summary(seconds: Sequence[float]) -> Dict[str, float]:
    """p50/p90/p99/mean/min of per-call latencies, in milliseconds."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    if ms.size == 0:
        raise ValueError("latency_summary needs at least one measurement")
    return {"p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean()),
            "min_ms": float(ms.min()), "calls": int(ms.size)}


def rate_summary(values: Sequence[float]) -> Dict[str, object]:
    """Median and spread of repeated throughput measurements (e.g. examples/s per window).

    ``spread_pct`` = (max - min) / median * 100: how much the windows disagree (noise from
    other processes on the machine shows here).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("rate_summary needs at least one measurement")
    median = float(np.median(x))
    return {"median": median, "min": float(x.min()), "max": float(x.max()),
            "spread_pct": float((x.max() - x.min()) / median * 100) if median else float("nan"),
            "windows": int(x.size), "values": [float(v) for v in x]}


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: numbers right-aligned (floats with thousands separators)."""
    def cell(v):
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
        return f"{v:,}" if isinstance(v, int) else str(v)

    cells: List[List[str]] = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def write_result(name: str, result: Dict, out_dir: str = DEFAULT_OUT_DIR,
                 command: str = "") -> str:
    """Writes ``out_dir/name.json`` = {"benchmark", "command", "machine", "result"}; returns it."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.json")
    payload = {"benchmark": name, "command": command or " ".join(["lt4rec"] + sys.argv[1:]),
               "machine": machine_info(), "result": result}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, default=float)
    return path
