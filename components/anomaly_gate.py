"""AnomalyGate: stops the pipeline when ExampleValidator found anomalies.

TFX's ExampleValidator records anomalies but lets the run go on; LT4REC must not train or
push on a day whose statistics break the schema. The gate reads every split's anomalies and
raises, naming each feature and what is wrong, so no component after it runs.
"""


import os

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.types import artifact_utils

from lt4rec.components.gates import GateStoppedError

SCHEMA_DIFF_FILE = "SchemaDiff.pb"


class AnomaliesFoundError(GateStoppedError):
    """ExampleValidator found anomalies; the message lists them."""


def read_anomalies(artifact) -> dict:
    """{split: {feature: "short: description"}} of an ExampleAnomalies artifact."""
    found = {}
    for split in artifact_utils.decode_split_names(artifact.split_names):
        path = os.path.join(artifact.uri, f"Split-{split}", SCHEMA_DIFF_FILE)
        with open(path, "rb") as fh:
            anomalies = anomalies_pb2.Anomalies.FromString(fh.read())
        found[split] = {name: f"{info.short_description}: {info.description}"
                        for name, info in sorted(anomalies.anomaly_info.items())}
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            found[split]["<dataset>"] = f"{info.short_description}: {info.description}"
    return found


@tfx.dsl.components.component
def AnomalyGate(  # noqa: N802 (TFX component style)
        anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies]
) -> None:
    """Raises ``AnomaliesFoundError`` when any split has an anomaly."""
    found = {split: a for split, a in read_anomalies(anomalies).items() if a}
    if found:
        lines = [f"split {split}: {feature}: {what}"
                 for split, per in found.items() for feature, what in per.items()]
        raise AnomaliesFoundError("ExampleValidator found anomalies; stopping the run", lines)
