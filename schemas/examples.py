"""Log rows <-> tf.Example, typed by the contract (not guessed from the data).

TFX's CsvExampleGen infers each column's type from the values it sees, so a day where every
``user_recent_clicks`` holds one id becomes INT instead of a string list, and it skips blank
lines silently. LT4REC writes its Examples from the contract's types instead: INT columns as
int64_list, FLOAT as float_list, STRING and LIST columns as bytes_list, an empty field as an
absent feature (what ``models.features.raw_feature_spec`` parses). Rows that carry labels
also get the contract's derived columns (``watch_ratio``, 0 on non-clicks), so evaluators can
read the CVR label from the examples.
"""

from __future__ import annotations

from typing import Dict, Iterator, Optional, Sequence

import numpy as np
from tensorflow.core.example import example_pb2, feature_pb2

from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas import labels, names as column_names
from lt4rec.schemas.contract import DType


def encode_rows(columns: Dict[str, np.ndarray],
                names: Optional[Sequence[str]] = None) -> Iterator[bytes]:
    """Serialized tf.Examples, one per row of typed columns (as validation returns them).

    Args:
      columns: column name -> [n] array (int64, float or str) for every name in ``names``.
      names: columns to encode (default: every contract column present in ``columns``).
    """
    contract = contract_lib.load()
    names = [n for n in (names or contract.names) if n in columns]
    needed = (column_names.WATCH_TIME_S, column_names.VIDEO_LENGTH_S, column_names.CLICK)
    if all(n in columns for n in needed) and column_names.WATCH_RATIO not in columns:
        ratio = labels.watch_ratio_column(*(columns[n] for n in needed))
        columns = dict(columns, **{column_names.WATCH_RATIO: ratio})
        names.append(column_names.WATCH_RATIO)
    dtypes = [contract[n].dtype for n in names]
    cols = [columns[n] for n in names]
    n_rows = len(cols[0]) if cols else 0
    for i in range(n_rows):
        example = example_pb2.Example()
        feature = example.features.feature
        for name, dtype, col in zip(names, dtypes, cols):
            value = col[i]
            if dtype is DType.INT:
                feature[name].int64_list.value.append(int(value))
            elif dtype is DType.FLOAT:
                feature[name].float_list.value.append(float(value))
            elif value != "":
                feature[name].bytes_list.value.append(str(value).encode("utf-8"))
        yield example.SerializeToString()


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
