"""`lt4rec bench train|masks|ingest|export` on tiny settings write complete, finite figures.

No assertion on speed: figures depend on the machine and its load; these tests check that
each benchmark runs end to end and reports every figure, positive and finite, with machine info.
"""

import json
import math

import pytest

from lt4rec import cli

from conftest import TINY_OVERRIDES

MACHINE_KEYS = {"cpu", "cores", "memory_gib", "gpus", "tensorflow", "load_average_1m",
                "git_commit", "measured_at"}


@pytest.fixture(scope="module")
def tiny_config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench_config") / "tiny.json"
    overrides = {k: dict(v) for k, v in TINY_OVERRIDES.items()}
    overrides["pruning"].update(rounds=2)
    path.write_text(json.dumps(overrides))
    return str(path)


def _run(name, out_dir, *args):
    assert cli.main(["bench", name, "--out-dir", str(out_dir), *args]) == 0
    payload = json.loads((out_dir / f"{name}.json").read_text())
    assert payload["benchmark"] == name
    assert MACHINE_KEYS <= set(payload["machine"])
    return payload["result"]


def _positive(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_bench_train_reports_rates_and_mask_overhead(tmp_path, tiny_config_file):
    result = _run("train", tmp_path, "--variants", "sparse_weight", "--days", "3",
                  "--rows-per-day", "600", "--warmup-batches", "1", "--windows", "2",
                  "--window-batches", "2", "--config", tiny_config_file)
    variants = result["variants"]
    assert set(variants) == {"hard_share", "sparse_weight"}
    assert result["dense_reference"]["variant"] == "hard_share"
    for r in variants.values():
        for clock in ("examples_per_s", "examples_per_cpu_s"):
            rates = r[clock]
            assert rates["windows"] == 2 and len(rates["values"]) == 2
            assert all(_positive(v) for v in rates["values"]) and _positive(rates["median"])
        assert r["batch_size"] == 256
    assert variants["hard_share"]["throughput_vs_dense"] == 1.0
    for key in ("mask_overhead_ratio", "mask_overhead_ratio_cpu"):
        assert _positive(variants["sparse_weight"][key])
        assert key not in variants["hard_share"]


def test_bench_masks_reports_search_as_a_multiple_of_training(tmp_path, tiny_config_file):
    result = _run("masks", tmp_path, "--variants", "sparse_neuron", "--days", "3",
                  "--rows-per-day", "500", "--config", tiny_config_file)
    r = result["variants"]["sparse_neuron"]
    for key in ("search_seconds", "final_training_seconds", "multiple", "warmup_seconds"):
        assert _positive(r[key]), key
    assert r["multiple"] == pytest.approx(r["search_seconds"] / r["final_training_seconds"])
    assert r["epoch_multiple"] == pytest.approx((0.5 + 2) / 1)  # tiny: warm-up 0.5, 2 rounds
    assert [len(v) for v in r["round_seconds"].values()] == [2, 2]
    assert all(_positive(s) for v in r["round_seconds"].values() for s in v)


def test_bench_masks_refuses_a_variant_without_masks(tmp_path, capsys):
    assert cli.main(["bench", "masks", "--variants", "hard_share",
                     "--out-dir", str(tmp_path)]) == 2
    assert "['hard_share'] have no masks" in capsys.readouterr().err
    assert not (tmp_path / "masks.json").exists()


@pytest.mark.e2e
def test_bench_export_reports_latency_per_batch_and_export_sizes(tmp_path, tiny_config_file):
    result = _run("export", tmp_path, "--variants", "sparse_neuron", "--batch-sizes", "1,7",
                  "--calls", "3", "--warmup", "1", "--days", "3", "--rows-per-day", "300",
                  "--config", tiny_config_file)
    assert set(result["exports"]) == {"hard_share/pctr", "hard_share/pcvr",
                                      "sparse_neuron/pctr", "sparse_neuron/pcvr"}
    for name, e in result["exports"].items():
        assert all(_positive(e[k]) for k in ("nonzero_params", "dense_params", "flops",
                                             "bytes")), name
        assert set(e["latency"]) == {"1", "7"}
        for lat in e["latency"].values():
            assert lat["calls"] == 3
            assert all(_positive(lat[k]) for k in ("p50_ms", "p99_ms", "examples_per_s"))
        assert all(_positive(v) for v in e["p50_vs_dense"].values())
    assert set(result["exports"]["sparse_neuron/pcvr"]["picked_sparsity"]) == {"ctr", "cvr"}


@pytest.mark.e2e
def test_bench_ingest_reports_rows_per_second_per_stage(tmp_path):
    result = _run("ingest", tmp_path, "--rows", "300", "--small-rows", "0",
                  "--beam-arg=--direct_running_mode=in_memory")
    assert result["rows"] == 300 and result["small_run"] is None
    for stage in ("LogExampleGen", "Transform", "ExampleGen+Transform"):
        figures = result["stages"][stage]
        assert _positive(figures["seconds"]) and _positive(figures["rows_per_s"])
        assert figures["rows_per_s"] == pytest.approx(300 / figures["seconds"])
    assert result["tfx_import_seconds"] >= 0


def test_bench_pipeline_marginal_cost_is_the_time_difference_per_100k_rows():
    from lt4rec.bench.pipeline import marginal
    runs = [{"rows": 100_000, "components": {"Transform": {"seconds": 30.0}}},
            {"rows": 300_000, "components": {"Transform": {"seconds": 50.0},
                                             "MaskGen": {"seconds": 8.0}}}]
    assert marginal(runs) == {
        "Transform": [{"from_rows": 100_000, "to_rows": 300_000, "seconds_per_100k": 10.0}],
        "MaskGen": [{"from_rows": 100_000, "to_rows": 300_000, "seconds_per_100k": 4.0}]}
