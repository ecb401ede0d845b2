"""Rank requests: checking one against the contract, and building one from JSON or log rows.

Which features a request carries comes from the traffic-log contract (``schemas/``): every
column of the schema's SERVING environment (user, item and context columns; labels and meta
are not sent). User and context columns go in ``RankRequest.context``, item columns in each
candidate; a column may sit in either, and a candidate's value wins (see ``rank.proto``).

``check_request`` is what the ranking service runs before calling any model: an unknown,
mistyped, multi-valued or out-of-bounds feature, a required feature missing from both the
candidate and the context, or an empty candidate list is INVALID_ARGUMENT; more candidates than
the limit is RESOURCE_EXHAUSTED. Each message names the candidate and the feature.

JSON form (``lt4rec rank --request``; ``serving/examples/rank_request.json``)::

    {"context": {<user and context column>: value, ...},
     "candidates": [{"id": "v1", "features": {<item column>: value, ...}}, ...]}

List columns take a JSON list of ids or the logged ``|``-joined string.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
from tensorflow.core.example import example_pb2

from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas import names as column_names
from lt4rec.schemas.contract import DType, Group, Kind
from lt4rec.serving.errors import InvalidRequest, TooLarge
from lt4rec.serving.protos import rank_pb2
from lt4rec.schemas.validation import validate_logs

_KIND_OF_DTYPE = {DType.INT: "int64_list", DType.FLOAT: "float_list", DType.STRING: "bytes_list"}


def serving_features() -> Dict[str, contract_lib.Feature]:
    """{name: Feature} of the columns a request may carry (the SERVING environment)."""
    return {f.name: f for f in contract_lib.load() if f.in_serving}


@dataclasses.dataclass(frozen=True)
class _Rule:
    """What one serving feature must look like: one value in ``kind``, within bounds."""
    feature: contract_lib.Feature
    kind: str
    low: float
    high: float
    strict_low: bool

    def explain(self, feature, where: str) -> InvalidRequest:
        """The error for a feature that is not exactly one value of the right kind."""
        f, kind = self.feature, feature.WhichOneof("kind")
        if kind != self.kind:
            return InvalidRequest(f"{where}: feature {f.name!r} must be a {self.kind} "
                                  f"({f.dtype.value}); received {kind or 'no value'}")
        return InvalidRequest(f"{where}: feature {f.name!r} must hold exactly one value; "
                              f"received {len(getattr(feature, kind).value)}")

    def out_of_bounds(self, value, where: str) -> InvalidRequest:
        f = self.feature
        if self.strict_low and not value > self.low:
            return InvalidRequest(f"{where}: feature {f.name!r} must be > 0; received {value}")
        return InvalidRequest(f"{where}: feature {f.name!r} must be within "
                              f"[{f.min_value}, {f.max_value}]; received {value}")


@functools.lru_cache(maxsize=None)
def _rules() -> Dict[str, _Rule]:
    rules = {}
    for f in serving_features().values():
        low = f.min_value if f.min_value is not None else -math.inf
        if f.positive:
            low = max(low, 0.0)
        high = f.max_value if f.max_value is not None else math.inf
        numeric = f.dtype is not DType.STRING
        rules[f.name] = _Rule(f, _KIND_OF_DTYPE[f.dtype], low if numeric else -math.inf,
                              high if numeric else math.inf, f.positive)
    return rules


def _check_example(example, where: str) -> List[str]:
    """Checks every feature of ``example``; returns their names. Hot path (500 candidates x
    a few features per request): one dict lookup, one attribute read and two comparisons per
    feature when all is well; the rules are unpacked into locals once."""
    rules = _rules()
    feature_map = example.features.feature
    present = list(feature_map)  # iterating keys is much cheaper than .items() here
    for name in present:
        rule = rules.get(name)
        if rule is None:
            raise InvalidRequest(f"{where}: {name!r} is not a serving feature of the contract; "
                                 f"known: {', '.join(rules)}")
        feature = feature_map[name]
        kind, low, high = rule.kind, rule.low, rule.high
        values = getattr(feature, kind).value
        if len(values) != 1:
            raise rule.explain(feature, where)
        if kind != "bytes_list":
            value = values[0]
            if not low <= value <= high or (rule.strict_low and value <= low):
                raise rule.out_of_bounds(value, where)
    return present


def check_request(request: rank_pb2.RankRequest, max_candidates: int
                  ) -> Tuple[List[bytes], np.ndarray]:
    """Validates ``request``; returns what the models need.

    Returns:
      (examples, video_length): one serialized tf.Example per candidate (the context's
      features overlaid by the candidate's), and each candidate's video length [N] float64.
    Raises:
      InvalidRequest, TooLarge: see the module docstring.
    """
    n = len(request.candidates)
    if n == 0:
        raise InvalidRequest("RankRequest has no candidates; send at least one")
    if n > max_candidates:
        raise TooLarge(f"RankRequest has {n} candidates; the limit is "
                       f"max_candidates={max_candidates}")
    required = {name for name, r in _rules().items() if r.feature.required}
    in_context = set(_check_example(request.context, "context"))
    length_name = column_names.VIDEO_LENGTH_S
    context_length = (request.context.features.feature[length_name].float_list.value[0]
                      if length_name in in_context else None)
    context_bytes = request.context.SerializeToString()
    examples, lengths = [], np.empty(n, np.float64)
    for i, candidate in enumerate(request.candidates):
        where = f"candidates[{i}]"
        present = _check_example(candidate.features, where)
        missing = required - in_context - set(present)
        if missing:
            raise InvalidRequest(f"{where}: missing required feature(s) {sorted(missing)} "
                                 f"(neither in the candidate nor in the context)")
        feature = candidate.features.features.feature
        lengths[i] = (feature[length_name].float_list.value[0] if length_name in present
                      else context_length)
        examples.append(context_bytes + candidate.features.SerializeToString())
    return examples, lengths


# -- building requests ------------------------------------------------------------------------

def _set_value(example, f: contract_lib.Feature, value, where: str) -> None:
    feature = example.features.feature[f.name]
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
    if f.dtype is DType.INT:
        feature.int64_list.value.append(int(value))
    elif f.dtype is DType.FLOAT:
        feature.float_list.value.append(float(value))
    elif value != "":
        feature.bytes_list.value.append(value.encode("utf-8"))
    else:  # an empty list is an absent feature, as in the logs
        del example.features.feature[f.name]


def example_from_values(values: Mapping[str, object], where: str) -> example_pb2.Example:
    """A tf.Example of serving columns typed by the contract.

    Raises:
      ValueError: a name that is not a serving column, or a value of the wrong type.
    """
    known = serving_features()
    example = example_pb2.Example()
    for name, value in values.items():
        if name not in known:
            raise ValueError(f"{where}: {name!r} is not a serving feature of the contract; "
                             f"known: {', '.join(known)}")
        _set_value(example, known[name], value, where)
    return example


def request_from_json(obj: Mapping) -> rank_pb2.RankRequest:
    """The RankRequest of the JSON form in the module docstring.

    Raises:
      ValueError: a missing key, an unknown feature or a mistyped value, with its path.
    """
    if not isinstance(obj, Mapping) or "candidates" not in obj:
        raise ValueError("a rank request is an object with 'context' and 'candidates'")
    request = rank_pb2.RankRequest(context=example_from_values(obj.get("context", {}),
                                                               "context"))
    for i, cand in enumerate(obj["candidates"]):
        if not isinstance(cand, Mapping) or "features" not in cand:
            raise ValueError(f"candidates[{i}] must be an object with 'features' (and 'id')")
        request.candidates.add(id=str(cand.get("id", "")),
                               features=example_from_values(cand["features"],
                                                            f"candidates[{i}].features"))
    return request


def json_from_rows(columns: Mapping[str, np.ndarray], context_row: int,
                   candidate_rows: Sequence[int]) -> dict:
    """A JSON rank request from log rows: the user and context columns of ``context_row``,
    the item columns of each of ``candidate_rows`` (id: the item id).

    Args:
      columns: log columns as ``lt4rec.schemas.validation.validate_logs(...).accepted`` returns them.
    """
    def py(value):
        return value.item() if isinstance(value, np.generic) else value

    known = serving_features().values()
    context = {f.name: py(columns[f.name][context_row]) for f in known
               if f.group in (Group.USER, Group.CONTEXT)}
    items = [f.name for f in known if f.group is Group.ITEM]
    return {"context": {k: v for k, v in context.items() if v != ""},
            "candidates": [{"id": str(py(columns[column_names.ITEM_ID][r])),
                            "features": {k: py(columns[k][r]) for k in items
                                         if py(columns[k][r]) != ""}}
                           for r in candidate_rows]}


def response_to_json(response: rank_pb2.RankResponse) -> dict:
    """The ranked list as plain JSON (what ``lt4rec rank`` prints)."""
    return {"pctr_version": response.pctr_version, "pcvr_version": response.pcvr_version,
            "exponents": {"a": response.a, "b": response.b, "c": response.c},
            "candidates": [{"rank": r + 1, "id": c.id, "index": c.index, "pctr": c.pctr,
                            "pcvr": c.pcvr, "rankscore": c.rankscore}
                           for r, c in enumerate(response.candidates)]}


def json_from_log_file(path: str, n_candidates: int, context_row: int = 0) -> dict:
    """A JSON rank request from a log file: row ``context_row``'s user and context, the items
    of the next ``n_candidates`` rows with distinct item ids (rows wrap around).

    Raises:
      ValueError: the file has fewer distinct items than ``n_candidates``.
    """
    columns = validate_logs(path, use_tfdv=False).accepted
    items = columns[column_names.ITEM_ID]
    rows, seen = [], set()
    for r in np.roll(np.arange(len(items)), -(context_row + 1)):
        if items[r] not in seen:
            seen.add(items[r])
            rows.append(int(r))
        if len(rows) == n_candidates:
            return json_from_rows(columns, context_row, rows)
    raise ValueError(f"{path} has {len(seen)} distinct items; {n_candidates} candidates asked")
