"""Rank requests: checking one against the contract, and building one from JSON or log rows.

Which features a request carries comes from the traffic-log contract (``schemas/``): every
column of the schema's SERVING environment (user, item and context columns; labels and meta
are not sent). User and context columns go in ``RankRequest.context`` (one value each), item
columns in ``RankRequest.candidates.columns`` (one value per candidate); a column may sit in
either, and the candidates' column wins (see ``rank.proto``).

``check_request`` is what the ranking service runs before calling any model, column by column
with the contract's value rules (``schemas.values``, the rules log validation applies, so a
value is scored only if a log row holding it would be accepted): an unknown, mistyped,
multi-valued, out-of-vocabulary or out-of-bounds feature, a column of the wrong length, a
required feature missing from both the candidates and the context, or no candidate is
INVALID_ARGUMENT; more candidates than the limit is RESOURCE_EXHAUSTED. Each message names the
candidate (or the context), the feature, the requirement and the value received.

JSON form (``lt4rec rank --request``; ``serving/examples/rank_request.json``)::

    {"context": {<user and context column>: value, ...},
     "candidates": [{"id": "v1", "features": {<item column>: value, ...}}, ...]}

List columns take a JSON list of ids or the logged ``|``-joined string.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas import names as column_names
from lt4rec.schemas.contract import DType, Feature, Group, Kind
from lt4rec.schemas.examples import (example_from_values, features_from_columns, list_kind,
                                     typed_value, value_list)
from lt4rec.schemas.values import MISSING_VALUE, check_column, decode_utf8
from lt4rec.serving.errors import InvalidRequest, TooLarge
from lt4rec.serving.protos import rank_pb2
from lt4rec.schemas.validation import validate_logs

_MODEL_DTYPE = {DType.INT: np.int64, DType.FLOAT: np.float32, DType.STRING: object}


@functools.lru_cache(maxsize=None)
def serving_features() -> Dict[str, Feature]:
    """{name: Feature} of the columns a request may carry (the SERVING environment); shared,
    do not modify."""
    return {f.name: f for f in contract_lib.load() if f.in_serving}


@dataclasses.dataclass(frozen=True)
class RankInputs:
    """A checked request, ready for the models.

    Attributes:
      features: every serving column as an [N] array in the raw signature's dtype (int64,
        float32, or object holding str), context values repeated per candidate.
      video_length: [N] float64 seconds, the c term of Eq. 3.
      ids: the candidates' ids ([""] * N when the request has none).
    """
    features: Dict[str, np.ndarray]
    video_length: np.ndarray
    ids: Sequence[str]

    @property
    def size(self) -> int:
        return len(self.video_length)


def _candidate_count(request: rank_pb2.RankRequest, max_candidates: int) -> int:
    cand = request.candidates
    n = len(cand.ids)
    if not n and cand.columns.feature:
        first = next(iter(cand.columns.feature.values()))
        kind = first.WhichOneof("kind")
        n = len(getattr(first, kind).value) if kind else 0
    if n == 0:
        raise InvalidRequest("RankRequest has no candidates; send at least one")
    if n > max_candidates:
        raise TooLarge(f"RankRequest has {n} candidates; the limit is "
                       f"max_candidates={max_candidates}")
    return n


def _raw_values(f: Feature, feature, where: str, count: int, what: str):
    """The repeated values of one request feature, after its type and length checks."""
    kind, wanted = feature.WhichOneof("kind"), list_kind(f)
    if kind != wanted:
        raise InvalidRequest(f"{where}: feature {f.name!r} must be a {wanted} ({f.dtype.value}); "
                             f"received {kind or 'no value'}")
    values = value_list(feature, f)
    if len(values) != count:
        raise InvalidRequest(f"{where}: feature {f.name!r} must hold {what}; "
                             f"received {len(values)} values")
    return values


def _typed(f: Feature, values) -> tuple:
    """(values as the contract types them, present mask, decoded-ok mask or None)."""
    if f.dtype is DType.STRING:
        text, ok = decode_utf8(list(values))
        return text, text != "", ok
    array = np.array(values, dtype=_MODEL_DTYPE[f.dtype])
    return array, np.ones(len(array), bool), None


def _refuse(f: Feature, values: np.ndarray, violations, where) -> InvalidRequest:
    """The error for the first row breaking a rule, with every rule that row breaks."""
    row = int(np.flatnonzero(np.logical_or.reduce([v.mask for v in violations]))[0])
    broken = [v for v in violations if v.mask[row]]
    place = where(row)
    if broken[0].code == MISSING_VALUE:
        return InvalidRequest(f"{place}: feature {f.name!r} is required; received an empty value")
    value = values[row].item() if isinstance(values[row], np.generic) else values[row]
    return InvalidRequest(f"{place}: feature {f.name!r} must be "
                          f"{' and '.join(v.requirement for v in broken)}; received {value!r}")


def _column(f: Feature, request, n: int) -> Optional[np.ndarray]:
    """One serving column, checked against the contract (``schemas.values``, the rules log
    validation applies), in the model's dtype and repeated to ``n`` rows; None if absent."""
    columns, context = request.candidates.columns.feature, request.context.features.feature
    if f.name in columns:
        raw = _raw_values(f, columns[f.name], "candidates", n,
                          f"one value per candidate ({n})")
        where = lambda i: f"candidates[{i}]"  # noqa: E731
    elif f.name in context:
        raw = _raw_values(f, context[f.name], "context", 1, "exactly one value")
        where = lambda i: "context"  # noqa: E731
    else:
        return None
    values, present, parsed = _typed(f, raw)
    _, violations = check_column(f, values, present, parsed)
    broken = [v for v in violations if v.mask.any()]
    if broken:
        raise _refuse(f, values, broken, where)
    return values if len(values) == n else np.repeat(values, n)


def _unknown(request) -> None:
    known = serving_features()
    for where, names in (("context", request.context.features.feature),
                         ("candidates", request.candidates.columns.feature)):
        for name in names:
            if name not in known:
                raise InvalidRequest(f"{where}: {name!r} is not a serving feature of the "
                                     f"contract; known: {', '.join(known)}")


def check_request(request: rank_pb2.RankRequest, max_candidates: int) -> RankInputs:
    """Checks ``request`` against the contract; returns the models' inputs.

    Work is per column, not per candidate: each column's values are converted and checked
    as arrays (``schemas.values.check_column``).

    Raises:
      InvalidRequest, TooLarge: see the module docstring; the message names the candidate
        (or the context), the feature, the requirement and the value received.
    """
    n = _candidate_count(request, max_candidates)
    ids = request.candidates.ids
    if ids and len(ids) != n:
        raise InvalidRequest(f"candidates: ids must hold one id per candidate ({n}) or none; "
                             f"received {len(ids)}")
    _unknown(request)
    features, missing = {}, []
    for f in serving_features().values():
        column = _column(f, request, n)
        if column is None and f.required:
            missing.append(f.name)
        elif column is None:  # an absent list: empty for every candidate
            column = np.full(n, "", dtype=object)
        features[f.name] = column
    if missing:
        raise InvalidRequest(f"missing required feature(s) {missing} (neither in the "
                             f"candidates' columns nor in the context)")
    length = features[column_names.VIDEO_LENGTH_S].astype(np.float64)
    return RankInputs(features, length, list(ids) if ids else [""] * n)


# -- building requests ------------------------------------------------------------------------

def _candidate_columns(candidates: Sequence[Mapping], context: Mapping) -> Dict[str, list]:
    """Per-candidate JSON features -> {column: one typed value per candidate}; a column some
    candidates lack takes the context's value there (an optional list column: empty)."""
    known = serving_features()
    names = [n for n in known if any(n in c["features"] for c in candidates)]
    columns = {}
    for name in names:
        f, values = known[name], []
        for i, cand in enumerate(candidates):
            where = f"candidates[{i}].features"
            if name in cand["features"]:
                values.append(typed_value(f, cand["features"][name], where))
            elif name in context:
                values.append(typed_value(f, context[name], "context"))
            elif f.kind is Kind.LIST:
                values.append("")
            else:
                raise ValueError(f"{where}: {name!r} is missing (other candidates have it and "
                                 f"the context does not)")
        columns[name] = values
    return columns


def request_from_json(obj: Mapping) -> rank_pb2.RankRequest:
    """The RankRequest of the JSON form in the module docstring (candidates as columns).

    Raises:
      ValueError: a missing key, an unknown feature or a mistyped value, with its path.
    """
    if not isinstance(obj, Mapping) or "candidates" not in obj:
        raise ValueError("a rank request is an object with 'context' and 'candidates'")
    known = serving_features()
    context = obj.get("context", {})
    request = rank_pb2.RankRequest(context=example_from_values(context, known, "context"))
    candidates = list(obj["candidates"])
    for i, cand in enumerate(candidates):
        if not isinstance(cand, Mapping) or "features" not in cand:
            raise ValueError(f"candidates[{i}] must be an object with 'features' (and 'id')")
        unknown = [k for k in cand["features"] if k not in known]
        if unknown:
            raise ValueError(f"candidates[{i}].features: {unknown[0]!r} is not a serving "
                             f"feature of the contract; known: {', '.join(known)}")
    request.candidates.ids.extend(str(c.get("id", "")) for c in candidates)
    request.candidates.columns.CopyFrom(
        features_from_columns(_candidate_columns(candidates, context), known))
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
    r = response
    return {"pctr_version": r.pctr_version, "pcvr_version": r.pcvr_version,
            "exponents": {"a": r.a, "b": r.b, "c": r.c},
            "candidates": [{"rank": k + 1, "id": r.ids[k], "index": r.index[k],
                            "pctr": r.pctr[k], "pcvr": r.pcvr[k], "rankscore": r.rankscore[k]}
                           for k in range(len(r.index))]}


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
