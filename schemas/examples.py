"""Log rows <-> tf.Example, typed by the contract (not guessed from the data).

TFX's CsvExampleGen infers each column's type from the values it sees, so a day where every
``user_recent_clicks`` holds one id becomes INT instead of a string list, and it skips blank
lines silently. LT4REC writes its Examples from the contract's types instead: INT columns as
int64_list, FLOAT as float_list, STRING and LIST columns as bytes_list, an empty field as an
absent feature (what ``models.features.raw_feature_spec`` parses). Rows that carry labels
also get the contract's derived columns (``watch_ratio``, 0 on non-clicks), so evaluators can
read the CVR label from the examples.

This is the one contract-value -> tf.Example encoding: log rows (``encode_rows``), JSON rank
requests (``example_from_values`` for the context, ``features_from_columns`` for the candidates'
columns) and tests all write features through ``typed_value`` / ``put_value``.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np
import pyarrow as pa
from tensorflow.core.example import example_pb2, feature_pb2
from tfx_bsl.coders import example_coder

from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas import labels, names as column_names
from lt4rec.schemas.contract import DType, Feature, Kind

_LIST_FIELD = {DType.INT: "int64_list", DType.FLOAT: "float_list", DType.STRING: "bytes_list"}
_PY_TYPE = {DType.INT: int, DType.FLOAT: float, DType.STRING: str}


def value_list(feature: feature_pb2.Feature, f: Feature):
    """The repeated field of ``feature`` that holds ``f``'s type (e.g. its ``float_list.value``)."""
    return getattr(feature, _LIST_FIELD[f.dtype]).value


def list_kind(f: Feature) -> str:
    """Which ``tf.train.Feature`` list carries column ``f``: int64_list, float_list, bytes_list."""
    return _LIST_FIELD[f.dtype]


def typed_value(f: Feature, value, where: str):
    """A Python value as column ``f`` stores it: int, float or str (a list column's ids
    joined by its separator; "" is an empty list).

    Raises:
      ValueError: the value has the wrong type for the column, naming ``where`` and the value.
    """
    if f.kind is Kind.LIST and isinstance(value, (list, tuple)):
        value = f.list_separator.join(str(v) for v in value)
    ok = {DType.INT: isinstance(value, (int, np.integer)) and not isinstance(value, bool),
          DType.FLOAT: isinstance(value, (int, float, np.integer, np.floating))
          and not isinstance(value, bool),
          DType.STRING: isinstance(value, str)}[f.dtype]
    if not ok:
        raise ValueError(f"{where}: {f.name!r} must be {f.dtype.value}"
                         f"{' (or a list of ids)' if f.kind is Kind.LIST else ''}; "
                         f"received {value!r}")
    return _PY_TYPE[f.dtype](value)


def put_value(feature_map, f: Feature, value) -> None:
    """Writes one typed value of column ``f`` into a tf.Example's feature map (an empty string
    is an absent feature, as in the logs)."""
    if f.dtype is DType.STRING:
        if value != "":
            feature_map[f.name].bytes_list.value.append(str(value).encode("utf-8"))
    else:
        value_list(feature_map[f.name], f).append(value)


def example_from_values(values: Mapping[str, object], known: Mapping[str, Feature],
                        where: str) -> example_pb2.Example:
    """A tf.Example of contract values (``{column: value}``), typed by the contract.

    Args:
      values: column -> Python value (see ``typed_value``).
      known: the columns allowed here, e.g. the serving columns.
      where: names the object in error messages.
    Raises:
      ValueError: a column not in ``known``, or a value of the wrong type.
    """
    example = example_pb2.Example()
    for name, value in values.items():
        if name not in known:
            raise ValueError(f"{where}: {name!r} is not a serving feature of the contract; "
                             f"known: {', '.join(known)}")
        put_value(example.features.feature, known[name], typed_value(known[name], value, where))
    return example


def features_from_columns(columns: Mapping[str, Sequence], known: Mapping[str, Feature]
                          ) -> feature_pb2.Features:
    """Columns of typed values (``typed_value``) as one ``tf.train.Features`` holding every
    row's value per column (strings always written, "" included, so rows stay aligned)."""
    out = feature_pb2.Features()
    for name, values in columns.items():
        f = known[name]
        target = value_list(out.feature[name], f)
        if f.dtype is DType.STRING:
            target.extend(v.encode("utf-8") for v in values)
        else:
            target.extend(values)
    return out


def _with_derived(columns, names):
    """(columns, names) plus the derived ``watch_ratio`` when its inputs are there."""
    contract = contract_lib.load()
    names = [n for n in (names or contract.names) if n in columns]
    needed = (column_names.WATCH_TIME_S, column_names.VIDEO_LENGTH_S, column_names.CLICK)
    if all(n in columns for n in needed) and column_names.WATCH_RATIO not in columns:
        ratio = labels.watch_ratio_column(*(columns[n] for n in needed))
        columns = dict(columns, **{column_names.WATCH_RATIO: ratio})
        names.append(column_names.WATCH_RATIO)
    return columns, names


def encode_rows(columns: Dict[str, np.ndarray],
                names: Optional[Sequence[str]] = None) -> Iterator[bytes]:
    """Serialized tf.Examples, one per row of typed columns (as validation returns them).

    Args:
      columns: column name -> [n] array (int64, float or str) for every name in ``names``.
      names: columns to encode (default: every contract column present in ``columns``).
    """
    contract = contract_lib.load()
    columns, names = _with_derived(columns, names)
    features = [contract[n] for n in names]
    cols = [columns[n] for n in names]
    n_rows = len(cols[0]) if cols else 0
    for i in range(n_rows):
        example = example_pb2.Example()
        feature = example.features.feature
        for f, col in zip(features, cols):
            put_value(feature, f, _PY_TYPE[f.dtype](col[i]))
        yield example.SerializeToString()


def _one_value_lists(values: np.ndarray, dtype: DType) -> pa.Array:
    """A column as Arrow lists of one value each."""
    offsets = pa.array(np.arange(len(values) + 1, dtype=np.int32))
    if dtype is DType.INT:
        return pa.ListArray.from_arrays(offsets, pa.array(np.asarray(values, np.int64)))
    if dtype is DType.FLOAT:
        return pa.ListArray.from_arrays(offsets, pa.array(np.asarray(values, np.float32)))
    return pa.ListArray.from_arrays(offsets, pa.array(list(values), pa.binary()))


def encode_batch(columns: Dict[str, np.ndarray],
                 names: Optional[Sequence[str]] = None) -> List[bytes]:
    """``list(encode_rows(columns, names))``, encoded in a few vectorised passes.

    The columns become Arrow RecordBatches of one-value lists and tfx_bsl's C++ encoder
    writes the tf.Examples -- what TFX's CsvExampleGen does, without its type inference.
    An empty STRING is an absent feature (as in ``encode_rows``), so rows are grouped by
    which STRING columns they have and each group is encoded without the missing ones.
    """
    contract = contract_lib.load()
    columns, names = _with_derived(columns, names)
    n_rows = len(columns[names[0]]) if names else 0
    text = {n: np.asarray(columns[n], dtype=object).astype(str) for n in names
            if contract[n].dtype not in (DType.INT, DType.FLOAT)}
    present = np.stack([text[n] != "" for n in text], axis=1) if text else np.ones((n_rows, 0))
    patterns, group_of = np.unique(present, axis=0, return_inverse=True)
    out: List[Optional[bytes]] = [None] * n_rows
    for g, pattern in enumerate(patterns):
        rows = np.flatnonzero(group_of.reshape(-1) == g)
        kept = [n for n in names if n not in text or pattern[list(text).index(n)]]
        batch = pa.RecordBatch.from_arrays(
            [_one_value_lists((text[n] if n in text else np.asarray(columns[n]))[rows],
                              contract[n].dtype) for n in kept], kept)
        for i, record in zip(rows, example_coder.RecordBatchToExamples(batch)):
            out[i] = record
    return out


def decode_example(serialized: bytes) -> Dict[str, object]:
    """One tf.Example back to {column: value} (absent list columns come back as '')."""
    example = example_pb2.Example.FromString(serialized)
    out = {}
    contract = contract_lib.load()
    for f in contract.features + contract.derived:
        feat: feature_pb2.Feature = example.features.feature.get(f.name)
        if feat is None or not (feat.int64_list.value or feat.float_list.value
                                or feat.bytes_list.value):
            if f.dtype is DType.STRING:
                out[f.name] = ""
            continue
        if f.dtype is DType.INT:
            out[f.name] = int(feat.int64_list.value[0])
        elif f.dtype is DType.FLOAT:
            out[f.name] = float(feat.float_list.value[0])
        else:
            out[f.name] = feat.bytes_list.value[0].decode("utf-8")
    return out
