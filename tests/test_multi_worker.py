"""Multi-worker training on 127.0.0.1: TF_CONFIG per worker, and N workers = 1 worker."""

import json
import os
import sys

import pytest

from lt4rec.models import multi_worker

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def test_tf_config_names_the_cluster_and_this_worker():
    config = multi_worker.tf_config(["127.0.0.1:1000", "127.0.0.1:1001"], 1)
    assert config == {"cluster": {"worker": ["127.0.0.1:1000", "127.0.0.1:1001"]},
                      "task": {"type": "worker", "index": 1}}
    with pytest.raises(ValueError, match=r"\[0, 2\).*Received: 2"):
        multi_worker.tf_config(["a:1", "b:2"], 2)


def test_only_worker_zero_writes_to_the_output_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(multi_worker.TF_CONFIG, raising=False)
    assert multi_worker.is_chief() and multi_worker.task_output_dir("out") == "out"
    monkeypatch.setenv(multi_worker.TF_CONFIG,
                       json.dumps(multi_worker.tf_config(["a:1", "b:2"], 1)))
    assert not multi_worker.is_chief()
    assert multi_worker.task_output_dir("out") == os.path.join("out", "_workers", "worker-1")


def test_free_ports_are_distinct():
    ports = multi_worker.free_ports(3)
    assert len(set(ports)) == 3 and all(p > 0 for p in ports)


def test_a_failing_worker_stops_the_others_and_is_named(tmp_path):
    def argv(i):
        return [sys.executable, "-c",
                "import sys, time; sys.exit(3)" if i == 1 else "import time; time.sleep(60)"]
    with pytest.raises(RuntimeError, match=r"worker 1 exited with code 3.*worker-1\.log"):
        multi_worker.launch(argv, 2, log_dir=str(tmp_path), timeout_s=30)


@pytest.mark.e2e
def test_two_workers_take_the_step_one_worker_takes(tiny_logs, tmp_path):
    np = pytest.importorskip("numpy")
    script = os.path.join(TESTS_DIR, "multi_worker_step_check.py")
    multi_worker.launch(lambda i: [sys.executable, script, str(tiny_logs), TESTS_DIR,
                                   str(tmp_path)], 2, log_dir=str(tmp_path), timeout_s=300)
    chief = json.loads((tmp_path / "worker-0.json").read_text())
    other = json.loads((tmp_path / "worker-1.json").read_text())
    two, one = chief["multi_worker"], chief["single"]
    assert two["replicas"] == 2 and one["replicas"] == 1
    assert np.abs(np.array(one["delta"])).max() > 0                  # the step moved weights
    np.testing.assert_allclose(two["delta"], one["delta"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(other["multi_worker"]["delta"], two["delta"], rtol=0, atol=0)
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-5)
    assert not two["masked_moved"] and not one["masked_moved"]


def test_train_workers_run_the_same_command_with_multi_worker_distribution(tmp_path,
                                                                           monkeypatch):
    from lt4rec import cli
    from lt4rec.commands import train_workers
    monkeypatch.delenv(multi_worker.TF_CONFIG, raising=False)
    user_config = tmp_path / "c.json"
    user_config.write_text(json.dumps({"trainer": {"batch_size": 64}}))
    args = cli.build_parser().parse_args([
        "train", "--data", "logs", "--out", str(tmp_path / "out"), "--config",
        str(user_config), "--workers", "2", "--seed", "4"])
    assert train_workers.wants_launch(args)
    merged = tmp_path / "merged.json"
    argv = train_workers.worker_argv(args, train_workers._worker_config(args, str(merged)))
    assert json.loads(merged.read_text()) == {
        "trainer": {"batch_size": 64, "distribution": "multi_worker"}}
    assert argv[1:4] == ["-m", "lt4rec.cli", "train"]
    assert argv[argv.index("--config") + 1] == str(merged)
    assert argv[argv.index("--seed") + 1] == "4"
    monkeypatch.setenv(multi_worker.TF_CONFIG, json.dumps(multi_worker.tf_config(["a:1"], 0)))
    assert not train_workers.wants_launch(args)          # a worker does not launch workers
    args.workers = 0
    with pytest.raises(ValueError, match="--workers must be >= 1"):
        train_workers.wants_launch(args)
