"""Retention: what a daily pipeline may delete so its disk use stays bounded.

Two policies, both off unless asked (``RetentionPolicy``):

* Serving versions (``ROOT/serving/{pctr,pcvr}/<version>/``): keep the newest ``keep_versions``
  per model, and always the newest one (what TF Serving's latest-version policy serves) and the
  version pushed from the last blessed model.
* Pipeline artifacts (``ROOT/pipeline/...``): delete those whose last use is older than the
  newest ``keep_days`` days, unless a live artifact needs them. An artifact's last use is the
  latest day (span) of the executions that made or read it, from ML Metadata's lineage: a
  cached artifact reused every day (the imported schema) stays young. Always kept: the last
  blessed model (tomorrow's warm start and evaluation baseline) with its blessing and push, the
  newest masks (reused by MaskGen), and the newest accepted statistics (the drift baseline).
  Deleted artifacts have their folder removed and their ML Metadata state set to DELETED, so
  resolvers and TFX's cache never hand them out again.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import List, Optional, Set

from ml_metadata.proto import metadata_store_pb2

from lt4rec.pipeline.lineage import Lineage, int_property

_LIVE = metadata_store_pb2.Artifact.LIVE


@dataclasses.dataclass(frozen=True)
class RetentionPolicy:
    """How much to keep; 0 = keep everything (the policy is off)."""
    keep_versions: int = 0
    keep_days: int = 0

    def __post_init__(self):
        for name in ("keep_versions", "keep_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0 (0 keeps all). "
                                 f"Received: {name}={getattr(self, name)}")


@dataclasses.dataclass
class RetentionReport:
    """What one pass deleted (paths) and how many bytes that freed."""
    versions: List[str] = dataclasses.field(default_factory=list)
    artifacts: List[str] = dataclasses.field(default_factory=list)
    freed_bytes: int = 0

    def summary(self) -> str:
        return (f"retention: deleted {len(self.versions)} serving version folder(s), "
                f"{len(self.artifacts)} pipeline artifact(s), freed "
                f"{self.freed_bytes / 2 ** 20:.1f} MiB")


def disk_bytes(path: str) -> int:
    """Bytes of the files under ``path`` (0 if it does not exist)."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path)
               for f in files if not os.path.islink(os.path.join(d, f)))


def last_blessed(lineage: Lineage):
    """(the newest Model with a blessed ModelBlessing, that blessing), or (None, None)."""
    for model in reversed(lineage.of_type("Model")):
        for evaluator in reversed(lineage.executions_consuming(model.id, "Evaluator")):
            blessing = lineage.output(evaluator.id, "blessing")
            if blessing is not None and int_property(blessing, "blessed"):
                return model, blessing
    return None, None


def live_roots(lineage: Lineage) -> Set[int]:
    """Artifacts tomorrow's run needs whatever their age (see module docstring)."""
    roots = set()
    model, blessing = last_blessed(lineage)
    if model is not None:
        roots |= {model.id, blessing.id}
        for push in lineage.executions_consuming(blessing.id, "DualPusher"):
            roots |= set(a for ids in lineage.outputs[push.id].values() for a in ids)
    for type_name in ("lt4rec.Masks", "lt4rec.AcceptedStatistics"):
        newest = lineage.of_type(type_name)
        if newest:
            roots.add(newest[-1].id)
    return roots


def protected_version(lineage: Lineage) -> Optional[int]:
    """The serving version pushed from the last blessed model, if any."""
    _, blessing = last_blessed(lineage)
    if blessing is None:
        return None
    for push in lineage.executions_consuming(blessing.id, "DualPusher"):
        pushed = lineage.output(push.id, "pushed_model")
        if pushed is not None and int_property(pushed, "pushed"):
            return int_property(pushed, "pushed_version")
    return None


def prune_serving(serving_root: str, keep: int, protected: Optional[int],
                  report: RetentionReport) -> None:
    """Deletes versions beyond the newest ``keep`` per model folder, never the newest (served)
    one nor ``protected``."""
    if keep <= 0 or not os.path.isdir(serving_root):
        return
    for name in sorted(os.listdir(serving_root)):
        folder = os.path.join(serving_root, name)
        if not os.path.isdir(folder):
            continue
        versions = sorted((int(v) for v in os.listdir(folder) if v.isdigit()), reverse=True)
        for version in versions[max(keep, 1):]:
            if version != protected:
                path = os.path.join(folder, str(version))
                report.freed_bytes += disk_bytes(path)
                shutil.rmtree(path)
                report.versions.append(path)


def _last_use(lineage: Lineage, artifact_id: int) -> Optional[int]:
    """The latest span among the executions that made or read the artifact (and its own)."""
    executions = set(lineage.consumers.get(artifact_id, ()))
    if artifact_id in lineage.producer:
        executions.add(lineage.producer[artifact_id])
    spans = [lineage.span(artifact_id)] + [
        lineage.span(a) for e in executions
        for ids in list(lineage.inputs[e].values()) + list(lineage.outputs[e].values())
        for a in ids]
    return max((s for s in spans if s is not None), default=None)


def stale_artifacts(lineage: Lineage, keep_days: int, pipeline_root: str) -> List:
    """LIVE artifacts under ``pipeline_root`` last used before the newest ``keep_days`` days
    and not needed by a live root, oldest first."""
    spans = [s for s in (lineage.span(a) for a in lineage.artifacts) if s is not None]
    if keep_days <= 0 or not spans:
        return []
    cutoff = max(spans) - keep_days + 1
    roots = live_roots(lineage)
    root = os.path.join(os.path.abspath(pipeline_root), "")
    out = []
    for artifact in sorted(lineage.artifacts.values(), key=lambda a: a.id):
        last = _last_use(lineage, artifact.id)
        if (artifact.state == _LIVE and artifact.id not in roots and last is not None
                and last < cutoff and os.path.abspath(artifact.uri).startswith(root)):
            out.append(artifact)
    return out


def prune_artifacts(lineage: Lineage, keep_days: int, pipeline_root: str,
                    report: RetentionReport) -> None:
    """Deletes ``stale_artifacts``' folders and marks them DELETED in ML Metadata."""
    stale = stale_artifacts(lineage, keep_days, pipeline_root)
    for artifact in stale:
        if os.path.exists(artifact.uri):
            report.freed_bytes += disk_bytes(artifact.uri)
            (shutil.rmtree if os.path.isdir(artifact.uri) else os.remove)(artifact.uri)
        artifact.state = metadata_store_pb2.Artifact.DELETED
        report.artifacts.append(artifact.uri)
    if stale:
        lineage.store.put_artifacts(stale)


def apply(root: str, policy: RetentionPolicy, lineage: Lineage) -> RetentionReport:
    """Both policies over a local pipeline root (``serving/``, ``pipeline/``)."""
    report = RetentionReport()
    prune_serving(os.path.join(root, "serving"), policy.keep_versions,
                  protected_version(lineage), report)
    prune_artifacts(lineage, policy.keep_days, os.path.join(root, "pipeline"), report)
    return report
