"""The compiled Kubeflow v2 spec runs: a task's container command, as its pod would run it."""

import json

import pytest

from lt4rec.pipeline import kubeflow_pod


def _tiny_spec():
    return {
        "root": {"dag": {"tasks": {"Gen": {"componentRef": {"name": "Gen"}, "inputs": {
            "parameters": {"input_base": {"runtimeValue": {"constantValue": {
                "stringValue": "/logs"}}}}}}}}},
        "components": {"Gen": {"executorLabel": "Gen_executor", "outputDefinitions": {
            "artifacts": {"examples": {"artifactType": {"schemaTitle": "tfx.Examples"}}}}}},
        "deploymentSpec": {"executors": {"Gen_executor": {"container": {
            "command": ["python", "-m", "x.run"], "args": ["--json", "{{$}}"],
            "lifecycle": {"preCacheCheck": {"command": ["python", "-m", "x.driver"],
                                            "args": ["--json", "{{$}}"]}}}}}}}


def test_executor_input_carries_constants_output_uris_and_output_file():
    invocation = kubeflow_pod.executor_input(_tiny_spec(), "Gen", "/root", "/run")
    assert invocation["inputs"]["parameters"] == {"input_base": {"stringValue": "/logs"}}
    artifact = invocation["outputs"]["artifacts"]["examples"]["artifacts"][0]
    assert artifact["uri"] == "/root/Gen/examples/1"
    assert artifact["type"] == {"schemaTitle": "tfx.Examples"}
    assert invocation["outputs"]["outputFile"] == "/run/executor_output.json"


def test_driver_runs_before_the_executor_with_the_placeholder_filled():
    invocation = {"k": 1}
    driver, executor = kubeflow_pod.container_commands(_tiny_spec(), "Gen", invocation)
    assert driver == ["python", "-m", "x.driver", "--json", json.dumps(invocation)]
    assert executor == ["python", "-m", "x.run", "--json", json.dumps(invocation)]


def test_unknown_task_and_missing_inputs_are_named():
    spec = _tiny_spec()
    with pytest.raises(KeyError, match=r"'Nope'.*Gen"):
        kubeflow_pod.executor_input(spec, "Nope", "/r", "/d")
    spec["components"]["Gen"]["inputDefinitions"] = {"artifacts": {"schema": {}}}
    with pytest.raises(ValueError, match=r"needs input artifacts \['schema'\]"):
        kubeflow_pod.executor_input(spec, "Gen", "/r", "/d")


@pytest.mark.e2e
def test_example_gen_pod_command_of_the_compiled_spec_writes_validated_examples(
        tiny_logs, tmp_path):
    from lt4rec import cli
    out = tmp_path / "spec.json"
    # The spec's own paths (the image's schema path included) are replaced by local ones only
    # where they are compile options; the command lines come from the spec unchanged.
    assert cli.main(["pipeline", "compile", "--kubeflow", "--image", "r/lt4rec:1",
                     "--out", str(out), "--pipeline-root", str(tmp_path / "root"),
                     "--data", str(tiny_logs), "--serving-root", str(tmp_path / "serving"),
                     "--beam-arg=--direct_running_mode=in_memory"]) == 0
    spec = kubeflow_pod.load_spec(str(out))
    schema = spec["root"]["dag"]["tasks"]["FileBasedExampleGen"]["inputs"]["parameters"][
        "custom_config"]["runtimeValue"]["constantValue"]
    from lt4rec.components.log_example_gen.executor import span_of_date
    from lt4rec.pipeline.kubeflow_runner import IMAGE_SCHEMA_PATH
    from lt4rec.schemas.contract import SCHEMA_PATH
    schema["stringValue"] = schema["stringValue"].replace(IMAGE_SCHEMA_PATH, SCHEMA_PATH)
    out.write_text(json.dumps(spec))

    run = kubeflow_pod.run_task(str(out), "FileBasedExampleGen", str(tmp_path / "root"),
                                str(tmp_path / "task"))
    examples = tmp_path / "root" / "FileBasedExampleGen" / "examples" / "1"
    assert run.output_uris["examples"] == str(examples)
    assert list(examples.glob("Split-train/*.gz")) and list(examples.glob("Split-eval/*.gz"))
    assert (examples / "validation" / "day" / "report.json").exists()  # it validated
    meta = run.executor_output["artifacts"]["examples"]["artifacts"][0]["metadata"]
    assert int(meta["custom:span"]) == span_of_date(2026, 11, 4)         # the latest day
    assert meta["rows_read"] == meta["rows_accepted"] == 800             # the whole day
    assert json.loads(meta["split_names"]) == ["train", "eval"]
