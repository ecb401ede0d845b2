"""Beam's portable runner (--beam-config portable): endpoint options, the local job service +
worker pool, and a pipeline day submitted through them."""

import os

import pytest

from lt4rec.pipeline.beam import load_beam_args, service, with_endpoints


def test_portable_template_submits_to_the_local_service_ports():
    assert load_beam_args("portable") == service.portable_args(
        f"127.0.0.1:{service.DEFAULT_JOB_PORT}", f"127.0.0.1:{service.DEFAULT_WORKER_PORT}")


def test_endpoint_options_replace_the_templates_addresses():
    args = with_endpoints(load_beam_args("portable") + ["--max_num_workers=4"],
                          job_endpoint="jobs.example:8099", worker_pool="10.0.0.5:50000")
    assert sorted(args) == sorted(["--runner=PortableRunner", "--max_num_workers=4",
                                   "--job_endpoint=jobs.example:8099",
                                   "--environment_type=EXTERNAL",
                                   "--environment_config=10.0.0.5:50000"])
    assert with_endpoints(["--runner=PortableRunner"]) == ["--runner=PortableRunner"]


@pytest.mark.parametrize("option, value", [("job_endpoint", "localhost"),
                                           ("worker_pool", "127.0.0.1:port")])
def test_an_address_without_a_port_is_named(option, value):
    label = "--" + option.replace("_", "-")
    with pytest.raises(ValueError, match=rf"{label} must be HOST:PORT.*{value}"):
        with_endpoints([], **{option: value})


def test_pipeline_run_passes_the_endpoints():
    from lt4rec import cli
    from lt4rec.commands import pipeline as command
    args = cli.build_parser().parse_args([
        "pipeline", "run", "--data", "d", "--root", "r", "--beam-config", "portable",
        "--job-endpoint", "127.0.0.1:1", "--worker-pool", "127.0.0.1:2"])
    beam = command._beam_args(args)
    assert "--job_endpoint=127.0.0.1:1" in beam and "--environment_config=127.0.0.1:2" in beam
    assert "--job_endpoint=127.0.0.1:8099" not in beam


def test_status_of_an_empty_state_dir_is_not_running(tmp_path):
    assert service.status(str(tmp_path)) == {"job_service": False, "worker_pool": False}
    assert service.stop(str(tmp_path)) is False


@pytest.mark.e2e
def test_a_pipeline_day_on_the_portable_runner_matches_the_direct_runner(
        tiny_logs, direct_pipeline_day, tmp_path):
    from conftest import pushed_quality, run_pipeline_day
    state_dir = str(tmp_path / "beam")
    state = service.start(state_dir, job_port=0, worker_port=0)
    try:
        assert service.status(state_dir) == {"job_service": True, "worker_pool": True}
        with pytest.raises(RuntimeError, match="already run"):
            service.start(state_dir, job_port=0, worker_port=0)
        run = run_pipeline_day(tiny_logs, tmp_path / "root", state.beam_args())
    finally:
        assert service.stop(state_dir)
    for pid in (state.job_service.pid, state.worker_pool.pid):
        assert not os.path.exists(f"/proc/{pid}/cmdline") or not open(
            f"/proc/{pid}/cmdline", "rb").read()                 # gone (or a reaped zombie)
    assert len(run.pushed_versions) == 1
    portable = pushed_quality(tmp_path / "root", run.pushed_versions[-1])
    direct = direct_pipeline_day["quality"]
    assert portable["impressions"] == direct["impressions"]    # the same eval split rows
    assert portable["ctr_auc"] == pytest.approx(direct["ctr_auc"], abs=0.03)
    assert portable["cvr_mse"] == pytest.approx(direct["cvr_mse"], rel=0.1)
