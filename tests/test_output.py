"""Quiet by default, loud on request: the bootstrap in lt4rec/__init__.py silences the stack's
libraries at the source (environment for subprocesses, loggers, named warnings)."""

import os
import subprocess
import sys
import types

import lt4rec

_ENV_PROBE = ("import lt4rec, logging, os; print(os.environ['TF_CPP_MIN_LOG_LEVEL'], "
              "logging.getLogger('apache_beam').level, os.environ.get('PYTHONWARNINGS', ''), "
              "sep='|')")


def _python(code, **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("LT4REC_VERBOSE", "TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS")}
    return subprocess.run([sys.executable, "-c", code], env=dict(clean, **env),
                          capture_output=True, text=True, timeout=300)


def test_quiet_by_default_and_inherited_by_subprocesses():
    level, beam, pywarnings = _python(_ENV_PROBE).stdout.strip().split("|")
    assert level == "3" and beam == "40"                       # logging.ERROR
    assert "ignore:You are using a non-supported Python version:FutureWarning" in pywarnings


def test_verbose_env_turns_the_libraries_back_on():
    level, beam, pywarnings = _python(_ENV_PROBE, LT4REC_VERBOSE="1").stdout.strip().split("|")
    assert level == "0" and beam == "0" and pywarnings == ""


def test_a_users_own_tf_log_level_wins():
    out = _python(_ENV_PROBE, TF_CPP_MIN_LOG_LEVEL="1").stdout
    assert out.startswith("1|")


def test_importing_tensorflow_after_lt4rec_prints_nothing():
    proc = _python("import lt4rec, tensorflow as tf; tf.get_logger().warning('retracing')")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr[-2000:]


class AtomicFunction:  # stands in for TensorFlow's: only the __qualname__ matters
    def __del__(self):
        pass


def test_the_exit_hook_drops_only_tensorflows_shutdown_typeerror(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    monkeypatch.delenv("LT4REC_VERBOSE", raising=False)
    lt4rec._quiet_tf_function_teardown()
    sys.unraisablehook(types.SimpleNamespace(exc_type=TypeError, object=AtomicFunction.__del__))
    assert seen == []
    other = types.SimpleNamespace(exc_type=ValueError, object=AtomicFunction.__del__)
    sys.unraisablehook(other)
    assert seen == [other]


def test_verbose_flag_is_global():
    from lt4rec.cli import build_parser
    args = build_parser().parse_args(["--verbose", "pipeline", "prune", "--root", "r"])
    assert args.verbose and args.keep_days == 0
