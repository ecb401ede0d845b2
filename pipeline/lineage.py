"""ML Metadata of a local pipeline root, as a lineage graph: who made which artifact from what.

Used to explain a day's decision (``decisions.py``: the day's model, its Evaluator run and
baseline, its push) and to find what retention may delete (``retention.py``). A local store
holds a few hundred artifacts after weeks of daily runs, so the whole graph is read at once.
"""

from __future__ import annotations

import collections
import os
from typing import Dict, Iterable, List, Optional

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from lt4rec.components.common import SPAN_PROPERTY

METADATA_FILE = "metadata.db"
_INPUT = {metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT}
_OUTPUT = {metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT}


def open_store(root: str) -> metadata_store.MetadataStore:
    """The SQLite ML Metadata store of a local pipeline root (``ROOT/metadata.db``)."""
    path = os.path.join(root, METADATA_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no ML Metadata store at {path}; run `lt4rec pipeline run` first")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE
    return metadata_store.MetadataStore(config)


def _event_key(event) -> str:
    return next((step.key for step in event.path.steps if step.key), "")


class Lineage:
    """Artifacts, executions and the events between them, indexed both ways."""

    def __init__(self, store: metadata_store.MetadataStore):
        self.store = store
        self.artifacts = {a.id: a for a in store.get_artifacts()}
        self.executions = {e.id: e for e in store.get_executions()}
        self.inputs: Dict[int, Dict[str, List[int]]] = collections.defaultdict(
            lambda: collections.defaultdict(list))
        self.outputs: Dict[int, Dict[str, List[int]]] = collections.defaultdict(
            lambda: collections.defaultdict(list))
        self.producer: Dict[int, int] = {}
        self.consumers: Dict[int, List[int]] = collections.defaultdict(list)
        events = store.get_events_by_execution_ids(list(self.executions)) if self.executions else []
        for event in events:
            key, eid, aid = _event_key(event), event.execution_id, event.artifact_id
            if event.type in _INPUT:
                self.inputs[eid][key].append(aid)
                self.consumers[aid].append(eid)
            elif event.type in _OUTPUT:
                self.outputs[eid][key].append(aid)
                self.producer.setdefault(aid, eid)  # a cached execution re-reports outputs
        self._spans: Dict[int, Optional[int]] = {}

    def of_type(self, type_name: str, live_only: bool = True) -> List:
        """Artifacts of one type (``Model``, ``lt4rec.Masks``, ...), oldest first."""
        return sorted((a for a in self.artifacts.values() if a.type == type_name
                       and (not live_only or a.state == metadata_store_pb2.Artifact.LIVE)),
                      key=lambda a: a.id)

    def executions_consuming(self, artifact_id: int, type_suffix: str) -> List:
        """Executions of a component type (class name suffix) that read an artifact, oldest
        first."""
        return sorted((self.executions[e] for e in set(self.consumers.get(artifact_id, ()))
                       if self.executions[e].type.endswith(type_suffix)), key=lambda e: e.id)

    def output(self, execution_id: int, key: str):
        """The first artifact an execution wrote under ``key``, or None."""
        ids = self.outputs.get(execution_id, {}).get(key, [])
        return self.artifacts[ids[0]] if ids else None

    def input(self, execution_id: int, key: str):
        """The first artifact an execution read under ``key``, or None."""
        ids = self.inputs.get(execution_id, {}).get(key, [])
        return self.artifacts[ids[0]] if ids else None

    def span(self, artifact_id: int) -> Optional[int]:
        """The day (TFX span) an artifact belongs to: its own ``span`` property, else the
        latest span among the inputs of the execution that made it (recursively)."""
        if artifact_id not in self._spans:
            self._spans[artifact_id] = None  # cycle guard
            artifact = self.artifacts[artifact_id]
            own = artifact.custom_properties.get(SPAN_PROPERTY)
            if own is not None and own.HasField("int_value"):
                self._spans[artifact_id] = own.int_value
            elif artifact_id in self.producer:
                spans = [self.span(a) for ids in self.inputs[self.producer[artifact_id]].values()
                         for a in ids]
                self._spans[artifact_id] = max((s for s in spans if s is not None),
                                               default=None)
        return self._spans[artifact_id]

    def upstream(self, artifact_ids: Iterable[int], skip_keys=()) -> set:
        """The artifacts and everything they were made from, not following input keys in
        ``skip_keys`` (e.g. a warm start's ``base_model``, which is history, not a part)."""
        seen, todo = set(), list(artifact_ids)
        while todo:
            aid = todo.pop()
            if aid in seen:
                continue
            seen.add(aid)
            if aid in self.producer:
                todo += [a for key, ids in self.inputs[self.producer[aid]].items()
                         if key not in skip_keys for a in ids]
        return seen


def int_property(artifact, name: str, default: int = 0) -> int:
    """An int custom property of an MLMD artifact proto."""
    value = artifact.custom_properties.get(name)
    return value.int_value if value is not None and value.HasField("int_value") else default
