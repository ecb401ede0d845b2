"""Beam runner configs (`--beam-config`): templates load, bad files are named."""

import json

import pytest

from lt4rec.pipeline.beam import load_beam_args


def test_templates_name_their_runner():
    assert "--runner=DataflowRunner" in load_beam_args("dataflow")
    assert "--runner=FlinkRunner" in load_beam_args("flink")
    assert "--runner=SparkRunner" in load_beam_args("spark")
    assert "--direct_running_mode=multi_processing" in load_beam_args("local")


def test_config_file_is_read(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"beam_pipeline_args": ["--runner=DirectRunner"]}))
    assert load_beam_args(str(path)) == ["--runner=DirectRunner"]


def test_unknown_name_lists_the_templates():
    with pytest.raises(FileNotFoundError, match=r"nope.*dataflow.*flink"):
        load_beam_args("nope")


@pytest.mark.parametrize("content, problem", [
    ("{not json", "not valid JSON"),
    (json.dumps({"beam_pipeline_args": "--runner=X"}), "must be a list"),
    (json.dumps({"beam_pipeline_args": ["runner=X"]}), "must be a list"),
])
def test_malformed_file_is_named(tmp_path, content, problem):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=rf"bad\.json.*{problem}"):
        load_beam_args(str(path))


def test_kubeflow_spec_carries_the_config_args(tmp_path):
    pytest.importorskip("tfx")
    from lt4rec import cli
    out = tmp_path / "spec.json"
    rc = cli.main(["pipeline", "compile", "--kubeflow", "--image", "r/lt4rec:1", "--out",
                   str(out), "--beam-config", "dataflow", "--beam-arg=--max_num_workers=4"])
    assert rc == 0
    text = out.read_text()
    assert "DataflowRunner" in text and "--max_num_workers=4" in text
