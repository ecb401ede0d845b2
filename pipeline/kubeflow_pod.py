"""Run one task of a compiled Kubeflow Pipelines v2 spec the way its pod would, on this machine.

A spec that compiles can still fail in the pod: an executor class path that does not import,
a parameter the executor cannot parse, a custom config that does not survive JSON. This
module reads the task's container ``command`` and ``args`` from the spec's ``deploymentSpec``
and runs them as a subprocess after doing what the KFP v2 launcher does before it starts the
container: it builds the ``ExecutorInput`` (the task's constant parameters, its input
artifacts, an output artifact URI under a local pipeline root, the ``outputFile``) and puts
it where the ``{{$}}`` placeholder stands. A task with a ``lifecycle.preCacheCheck`` (the
FileBasedExampleGen driver, which resolves the span) runs that command first; as the launcher
does, its ``ExecutorOutput`` (the resolved ``input_config``, span, fingerprint, the output
artifact's metadata) updates the executor's ``ExecutorInput``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from typing import Dict, List, Optional

PLACEHOLDER = "{{$}}"


@dataclasses.dataclass
class PodRun:
    """What a task's pod wrote: its output artifacts' URIs and its ``ExecutorOutput``."""
    output_uris: Dict[str, str]
    executor_output: dict


def load_spec(path: str) -> dict:
    """The pipeline spec of a compiled file (the ``pipelineSpec`` of a job file, or itself)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data.get("pipelineSpec", data)


def executor_input(spec: dict, task: str, pipeline_root: str, run_dir: str,
                   input_artifacts: Optional[Dict[str, List[dict]]] = None) -> dict:
    """The ``ExecutorInput`` the KFP v2 launcher would hand the task's container.

    Args:
      spec: the pipeline spec (``load_spec``).
      task: the task's name in ``root.dag.tasks``.
      pipeline_root: the local folder standing in for the run's pipeline root.
      run_dir: the task's own folder (its ``executor_output.json``).
      input_artifacts: input name -> runtime artifacts (``{"name", "type", "uri",
        "metadata"}``) of upstream tasks; needed when the task has artifact inputs.

    Raises:
      KeyError: the task is not in the spec (the tasks are named).
      ValueError: a parameter is not a constant (it comes from an upstream task), or an
        input artifact is missing.
    """
    tasks = spec["root"]["dag"]["tasks"]
    if task not in tasks:
        raise KeyError(f"task {task!r} is not in the spec; tasks: {sorted(tasks)}")
    node = tasks[task]
    component = spec["components"][node["componentRef"]["name"]]
    parameters = {}
    for name, value in node.get("inputs", {}).get("parameters", {}).items():
        if "runtimeValue" not in value:
            raise ValueError(f"task {task!r}: parameter {name!r} is not a constant: {value}")
        parameters[name] = value["runtimeValue"]["constantValue"]
    wanted = component.get("inputDefinitions", {}).get("artifacts", {})
    missing = sorted(set(wanted) - set(input_artifacts or {}))
    if missing:
        raise ValueError(f"task {task!r} needs input artifacts {missing}")
    outputs = {name: {"artifacts": [{
        "name": f"{task}-{name}", "type": definition["artifactType"],
        "uri": os.path.join(pipeline_root, task, name, "1"), "metadata": {}}]}
        for name, definition in component.get("outputDefinitions", {}).get(
            "artifacts", {}).items()}
    return {"inputs": {"parameters": parameters,
                       "artifacts": {k: {"artifacts": v}
                                     for k, v in (input_artifacts or {}).items()}},
            "outputs": {"artifacts": outputs,
                        "outputFile": os.path.join(run_dir, "executor_output.json")}}


def _substitute(argv: List[str], invocation: str) -> List[str]:
    return [a.replace(PLACEHOLDER, invocation) for a in argv]


def container_commands(spec: dict, task: str, invocation: dict) -> List[List[str]]:
    """The command lines the task's pod runs: [driver (if any), executor]."""
    node = spec["root"]["dag"]["tasks"][task]
    label = spec["components"][node["componentRef"]["name"]]["executorLabel"]
    container = spec["deploymentSpec"]["executors"][label]["container"]
    text = json.dumps(invocation)
    commands = []
    driver = container.get("lifecycle", {}).get("preCacheCheck")
    if driver:
        commands.append(_substitute(driver["command"] + driver.get("args", []), text))
    commands.append(_substitute(container["command"] + container.get("args", []), text))
    return commands


def _apply_driver_output(invocation: dict) -> dict:
    """``invocation`` updated by the driver's ``ExecutorOutput``, as the launcher does before it
    starts the executor (resolved parameters such as the span's ``input_config``; output
    artifacts with the driver's metadata)."""
    with open(invocation["outputs"]["outputFile"], encoding="utf-8") as fh:
        written = json.load(fh)
    parameters = dict(invocation["inputs"]["parameters"])
    for name, value in written.get("parameterValues", {}).items():
        parameters[name] = ({"stringValue": value} if isinstance(value, str)
                            else {"intValue": str(int(value))})
    outputs = dict(invocation["outputs"]["artifacts"])
    for name, produced in written.get("artifacts", {}).items():  # keep the spec's types
        outputs[name] = {"artifacts": [dict(old, **{k: v for k, v in new.items() if k != "type"})
                                       for old, new in zip(outputs[name]["artifacts"],
                                                           produced["artifacts"])]}
    return {"inputs": dict(invocation["inputs"], parameters=parameters),
            "outputs": dict(invocation["outputs"], artifacts=outputs)}


def run_task(spec_path: str, task: str, pipeline_root: str, run_dir: str,
             input_artifacts: Optional[Dict[str, List[dict]]] = None,
             env: Optional[Dict[str, str]] = None, timeout_s: float = 600) -> PodRun:
    """Runs ``task``'s container commands locally; returns its outputs.

    Raises:
      RuntimeError: a command failed (its command line head and output tail are shown).
    """
    spec = load_spec(spec_path)
    os.makedirs(run_dir, exist_ok=True)
    invocation = executor_input(spec, task, pipeline_root, run_dir, input_artifacts)
    # The image's `python` is the one with LT4REC installed; here, this interpreter.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    commands = container_commands(spec, task, invocation)
    for i, _ in enumerate(commands):
        if i:  # after the driver: the executor's input as the launcher updates it
            invocation = _apply_driver_output(invocation)
        argv = container_commands(spec, task, invocation)[i]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                              env=dict(os.environ, PATH=path, **(env or {})), check=False)
        if done.returncode:
            raise RuntimeError(f"task {task!r}: {' '.join(argv[:3])} exited with "
                               f"{done.returncode}:\n{done.stderr[-3000:]}")
    output_file = invocation["outputs"]["outputFile"]
    with open(output_file, encoding="utf-8") as fh:
        executor_output = json.load(fh)
    uris = {name: spec_list["artifacts"][0]["uri"]
            for name, spec_list in invocation["outputs"]["artifacts"].items()}
    return PodRun(uris, executor_output)
