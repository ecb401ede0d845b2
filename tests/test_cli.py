"""The `lt4rec` command: help lists every subcommand; simulate writes the day layout."""

import subprocess
import sys

from lt4rec import cli


def _run(*args):
    return subprocess.run([sys.executable, "-m", "lt4rec.cli", *args], capture_output=True,
                          text=True)


def test_help_lists_every_subcommand_and_each_has_help():
    out = _run("--help")
    assert out.returncode == 0
    for name in cli.SUBCOMMANDS:
        assert name in out.stdout
        sub = _run(name, "--help")
        assert sub.returncode == 0 and "usage: lt4rec " + name in sub.stdout


def test_simulate_cli_writes_days_and_reports_speed(tmp_path):
    out = _run("simulate", "--out", str(tmp_path), "--days", "2", "--rows-per-day", "300",
               "--seed", "1", "--start-date", "2026-01-30")
    assert out.returncode == 0, out.stderr
    assert "rows/s" in out.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("_")) == [
        "2026-01-30", "2026-01-31"]


def test_bad_argument_is_named():
    out = _run("simulate", "--out", "x", "--start-date", "30-01-2026")
    assert out.returncode == 2 and "YYYY-MM-DD" in out.stderr
