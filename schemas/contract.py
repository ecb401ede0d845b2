"""Typed view of the traffic-log contract in ``log_schema.pbtxt``.

The pbtxt (a TFMD ``Schema``) is the source of truth; TFDV and TFX read it directly. This module
parses it into small frozen dataclasses so Python code can ask "which columns are user features",
"is this a list", "what values may ``source_page`` take" without touching protobufs, and turns
the view back into a ``Schema`` proto (``to_schema_proto``) so the round trip can be tested.

Example:
    >>> from schemas import contract, names
    >>> c = contract.load()
    >>> c[names.CLICK].group
    <Group.LABEL: 'label'>
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import os
from typing import Iterator, Optional, Sequence, Tuple

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from lt4rec.schemas import names

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log_schema.pbtxt")
SERVING_ENV = "SERVING"
TRAINING_ENV = "TRAINING"


class Group(enum.Enum):
    """Which side of an impression a column describes."""
    META = "meta"
    USER = "user"
    ITEM = "item"
    CONTEXT = "context"
    LABEL = "label"


class Kind(enum.Enum):
    """How a column is treated by the model."""
    ID = "id"                    # identifies a row; never a model input
    CATEGORICAL = "categorical"  # one id/token per row -> embedding
    NUMERIC = "numeric"          # one number per row
    LIST = "list"                # variable-length list of ids in one field -> pooled embedding
    LABEL = "label"


class DType(enum.Enum):
    """Value type as logged (TFMD ``FeatureType``)."""
    INT = "int"
    FLOAT = "float"
    STRING = "string"


_DTYPE_FROM_PROTO = {schema_pb2.INT: DType.INT, schema_pb2.FLOAT: DType.FLOAT,
                     schema_pb2.BYTES: DType.STRING}
_DTYPE_TO_PROTO = {v: k for k, v in _DTYPE_FROM_PROTO.items()}


@dataclasses.dataclass(frozen=True)
class Feature:
    """One log column.

    Attributes:
      name: column name (a constant of ``schemas.names``).
      dtype: type of the value in the log; for lists the type of the joined field (STRING).
      group, kind: see ``Group`` and ``Kind``.
      required: every row must carry a value (TFMD presence.min_fraction == 1).
      min_value, max_value: inclusive numeric bounds, or None.
      positive: value must be strictly > 0.
      vocabulary: allowed values of a string categorical (TFMD string_domain), else ().
      list_separator, list_dtype: for LIST columns, how the field splits and what each element is.
      ids_of: for LIST columns of ids, the column whose ids they are (they share its embedding).
      in_serving: the column is sent at serving time (labels and meta columns are not).
      description: the annotation comment.
      derived: not a log column; computed by ExampleGen from log columns (e.g. watch_ratio).
      drift: the day-over-day drift check (TFMD drift_comparator), (comparator, threshold)
        with comparator ``infinity_norm`` or ``jensen_shannon_divergence``; None: unchecked.
    """
    name: str
    dtype: DType
    group: Group
    kind: Kind
    required: bool = True
    min_value: Optional[float] = None
    max_value: Optional[float] = None
    positive: bool = False
    vocabulary: Tuple[str, ...] = ()
    list_separator: Optional[str] = None
    list_dtype: Optional[DType] = None
    ids_of: Optional[str] = None
    in_serving: bool = True
    description: str = ""
    derived: bool = False
    drift: Optional[Tuple[str, float]] = None

    @property
    def is_list(self) -> bool:
        return self.kind is Kind.LIST


@dataclasses.dataclass(frozen=True)
class LogContract:
    """All columns of the log, in file order, with lookups by name, group and kind.

    Iterating, ``names`` and ``select`` cover the log columns; ``derived`` holds the features
    ExampleGen adds (looked up by name like the others).
    """
    features: Tuple[Feature, ...]
    derived: Tuple[Feature, ...] = ()

    def __getitem__(self, name: str) -> Feature:
        for f in self.features + self.derived:
            if f.name == name:
                return f
        raise KeyError(f"No column named {name!r} in the log contract. "
                       f"Known: {', '.join(self.names)}")

    def __iter__(self) -> Iterator[Feature]:
        return iter(self.features)

    def __len__(self) -> int:
        return len(self.features)

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def select(self, groups: Sequence[Group] = (), kinds: Sequence[Kind] = ()) -> Tuple[Feature, ...]:
        """Columns whose group is in ``groups`` (all if empty) and kind in ``kinds`` (all if empty)."""
        return tuple(f for f in self.features
                     if (not groups or f.group in groups) and (not kinds or f.kind in kinds))

    @property
    def model_inputs(self) -> Tuple[Feature, ...]:
        """User, item and context columns: what a model may read."""
        return self.select(groups=(Group.USER, Group.ITEM, Group.CONTEXT))

    @property
    def labels(self) -> Tuple[Feature, ...]:
        return self.select(groups=(Group.LABEL,))


def _tags(feature: schema_pb2.Feature) -> dict:
    out = {}
    for tag in feature.annotation.tag:
        key, _, value = tag.partition(":")
        out[key] = value
    return out


def _feature_from_proto(f: schema_pb2.Feature, string_domains: dict) -> Feature:
    tags = _tags(f)
    where = f"feature {f.name!r} in {SCHEMA_PATH}"
    for key in ("group", "kind"):
        if key not in tags:
            raise ValueError(f"{where} has no '{key}:' annotation tag.")
    lo = hi = None
    if f.HasField("int_domain"):
        lo = f.int_domain.min if f.int_domain.HasField("min") else None
        hi = f.int_domain.max if f.int_domain.HasField("max") else None
    elif f.HasField("float_domain"):
        lo = f.float_domain.min if f.float_domain.HasField("min") else None
        hi = f.float_domain.max if f.float_domain.HasField("max") else None
    vocab: Tuple[str, ...] = ()
    if f.HasField("domain"):
        if f.domain not in string_domains:
            raise ValueError(f"{where} names string_domain {f.domain!r}, which is not defined.")
        vocab = string_domains[f.domain]
    return Feature(
        name=f.name,
        dtype=_DTYPE_FROM_PROTO[f.type],
        group=Group(tags["group"]),
        kind=Kind(tags["kind"]),
        required=f.presence.min_fraction >= 1.0,
        min_value=lo,
        max_value=hi,
        positive="positive" in tags,
        vocabulary=vocab,
        list_separator=tags.get("list_separator"),
        list_dtype=DType(tags["list_dtype"]) if "list_dtype" in tags else None,
        ids_of=tags.get("ids_of"),
        in_serving=SERVING_ENV not in f.not_in_environment,
        description=" ".join(f.annotation.comment),
        derived="derived" in tags,
        drift=_drift_from_proto(f),
    )


_DRIFT_COMPARATORS = ("infinity_norm", "jensen_shannon_divergence")


def _drift_from_proto(f: schema_pb2.Feature) -> Optional[Tuple[str, float]]:
    if not f.HasField("drift_comparator"):
        return None
    for name in _DRIFT_COMPARATORS:
        if f.drift_comparator.HasField(name):
            return name, getattr(f.drift_comparator, name).threshold
    raise ValueError(f"feature {f.name!r} in {SCHEMA_PATH}: drift_comparator needs one of "
                     f"{', '.join(_DRIFT_COMPARATORS)}.")


def from_schema_proto(schema: schema_pb2.Schema) -> LogContract:
    """Builds the typed view of a TFMD schema that follows the contract's annotation tags."""
    domains = {d.name: tuple(d.value) for d in schema.string_domain}
    parsed = [_feature_from_proto(f, domains) for f in schema.feature]
    contract = LogContract(tuple(f for f in parsed if not f.derived),
                           tuple(f for f in parsed if f.derived))
    for f in contract:
        if f.ids_of is not None and f.ids_of not in contract.names:
            raise ValueError(f"feature {f.name!r} in {SCHEMA_PATH}: ids_of names unknown column "
                             f"{f.ids_of!r}.")
    if tuple(f.name for f in contract.derived) != names.DERIVED_COLUMNS:
        raise ValueError(f"{SCHEMA_PATH} and schemas/names.py disagree on the derived columns: "
                         f"{[f.name for f in contract.derived]} vs {list(names.DERIVED_COLUMNS)}")
    if contract.names != names.LOG_COLUMNS:
        raise ValueError(
            f"{SCHEMA_PATH} and schemas/names.py disagree on the log columns: "
            f"pbtxt has {list(contract.names)}, names.LOG_COLUMNS has {list(names.LOG_COLUMNS)}.")
    return contract


def to_schema_proto(contract: LogContract) -> schema_pb2.Schema:
    """Inverse of ``from_schema_proto``: the TFMD schema this view describes."""
    schema = schema_pb2.Schema(default_environment=[TRAINING_ENV, SERVING_ENV])
    for feat in contract.features + contract.derived:
        f = schema.feature.add(name=feat.name, type=_DTYPE_TO_PROTO[feat.dtype])
        if feat.vocabulary:
            f.domain = feat.name
            schema.string_domain.add(name=feat.name, value=list(feat.vocabulary))
        elif feat.dtype in (DType.INT, DType.FLOAT) and (feat.min_value is not None
                                                          or feat.max_value is not None):
            dom = f.int_domain if feat.dtype is DType.INT else f.float_domain
            if feat.min_value is not None:
                dom.min = int(feat.min_value) if feat.dtype is DType.INT else feat.min_value
            if feat.max_value is not None:
                dom.max = int(feat.max_value) if feat.dtype is DType.INT else feat.max_value
            if feat.kind is Kind.LABEL and feat.dtype is DType.INT:
                dom.is_categorical = True
        if feat.required:
            f.presence.min_fraction = 1.0
            f.presence.min_count = 1
            f.shape.dim.add(size=1)
        else:
            f.presence.min_fraction = 0.0
            f.value_count.min = 1
            f.value_count.max = 1
        if not feat.in_serving:
            f.not_in_environment.append(SERVING_ENV)
        f.annotation.tag.extend([f"group:{feat.group.value}", f"kind:{feat.kind.value}"])
        if feat.list_separator is not None:
            f.annotation.tag.append(f"list_separator:{feat.list_separator}")
        if feat.list_dtype is not None:
            f.annotation.tag.append(f"list_dtype:{feat.list_dtype.value}")
        if feat.ids_of is not None:
            f.annotation.tag.append(f"ids_of:{feat.ids_of}")
        if feat.positive:
            f.annotation.tag.append("positive")
        if feat.derived:
            f.annotation.tag.append("derived")
        if feat.description:
            f.annotation.comment.append(feat.description)
        if feat.drift is not None:
            getattr(f.drift_comparator, feat.drift[0]).threshold = feat.drift[1]
    return schema


def load_schema_proto(path: str = SCHEMA_PATH) -> schema_pb2.Schema:
    """Parses a TFMD schema pbtxt."""
    with open(path, encoding="utf-8") as fh:
        return text_format.Parse(fh.read(), schema_pb2.Schema())


@functools.lru_cache(maxsize=None)
def load(path: str = SCHEMA_PATH) -> LogContract:
    """The typed contract of ``path`` (default: the project's log schema), cached."""
    return from_schema_proto(load_schema_proto(path))
