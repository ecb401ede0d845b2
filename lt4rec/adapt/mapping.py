"""The mapping file: how each contract column is made from a source table's columns.

A mapping file is JSON (examples: ``schemas/mappings/*.json``)::

  {
    "source": {"delimiter": "\\t"},                 # how to read the source (CSV by default)
    "attribution": "...",                            # kept in every output's report
    "columns": {CONTRACT_COLUMN: RULE, ...},         # every contract column, exactly once
    "reject": [REJECT_RULE, ...],                    # rows the contract cannot accept, and why
    "not_clicked_watch_time": "zero" | "reject"      # watch time logged on a non-click
  }

RULE is one of:
  {"from": SRC, "scale": k, "round": "floor"|"nearest", "values": {...}, "default": v}
      SRC's value (times ``scale``; rounded; or looked up in ``values``, else ``default``);
  {"constant": v}                  the same value on every row (a column the source lacks);
  {"derive": "row_number", "offset": n}            n, n + 1, ... in source order;
  {"derive": "day_of_week"} / {"derive": "hour_of_day"}   from the contract's timestamp (UTC);
  {"derive": "recent_items", "user": SRC, "item": SRC, "event": SRC, "time": SRC,
   "max_length": n}    the user's last n items with event = 1 strictly before this row's time,
                       newest first (e.g. recent clicks).
REJECT_RULE: {"column": SRC, "op": "<="|"<"|"=="|"!="|">"|">=", "value": x, "reason": NAME,
              "why": TEXT} rejects matching rows; {"duplicate_of": [SRC, ...], "reason": NAME,
              "why": TEXT} rejects every repeat of a key after its first row.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Optional

from lt4rec.schemas import names

OPS = ("<=", "<", "==", "!=", ">", ">=")
DERIVATIONS = ("row_number", names.DAY_OF_WEEK, names.HOUR_OF_DAY, "recent_items")
NOT_CLICKED_POLICIES = ("zero", "reject")
_RULE_KEYS = {"from", "scale", "round", "values", "default", "constant", "derive", "offset",
              "user", "item", "event", "time", "max_length", "comment"}


class MappingError(ValueError):
    """A mapping file that cannot be applied; the message names the file and the entry."""


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A checked mapping file."""
    path: str
    columns: Dict[str, Dict[str, Any]]
    reject: List[Dict[str, Any]]
    delimiter: str = ","
    not_clicked_watch_time: str = "zero"
    attribution: str = ""
    description: str = ""

    def source_columns(self) -> List[str]:
        """Every source column the mapping reads (to check against the source's header)."""
        used = []
        for rule in self.columns.values():
            used += [rule[k] for k in ("from", "user", "item", "event", "time") if k in rule]
        for rule in self.reject:
            used += [rule["column"]] if "column" in rule else list(rule["duplicate_of"])
        return sorted(set(used))


def _fail(path: str, where: str, message: str) -> None:
    raise MappingError(f"mapping file {path}: {where}: {message}")


def _check_rule(path: str, column: str, rule: Any) -> None:
    where = f"columns.{column}"
    if not isinstance(rule, dict):
        _fail(path, where, f"must be an object, got {rule!r}")
    unknown = sorted(set(rule) - _RULE_KEYS)
    if unknown:
        _fail(path, where, f"unknown key(s) {unknown}; known: {sorted(_RULE_KEYS)}")
    kinds = [k for k in ("from", "constant", "derive") if k in rule]
    if len(kinds) != 1:
        _fail(path, where, f"needs exactly one of 'from', 'constant', 'derive'; has {kinds}")
    if "derive" in rule:
        if rule["derive"] not in DERIVATIONS:
            _fail(path, where, f"unknown derivation {rule['derive']!r}; known: {DERIVATIONS}")
        if rule["derive"] == "recent_items":
            missing = [k for k in ("user", "item", "event", "time", "max_length") if k not in rule]
            if missing:
                _fail(path, where, f"recent_items needs {missing}")
    if "scale" in rule and not isinstance(rule["scale"], (int, float)):
        _fail(path, where, f"'scale' must be a number, got {rule['scale']!r}")
    if rule.get("round", "floor") not in ("floor", "nearest"):
        _fail(path, where, f"'round' must be 'floor' or 'nearest', got {rule['round']!r}")


def _check_reject(path: str, i: int, rule: Any) -> None:
    where = f"reject[{i}]"
    if not isinstance(rule, dict) or "reason" not in rule:
        _fail(path, where, f"must be an object with a 'reason', got {rule!r}")
    if "duplicate_of" in rule:
        if not isinstance(rule["duplicate_of"], list) or not rule["duplicate_of"]:
            _fail(path, where, "'duplicate_of' must be a non-empty list of source columns")
        return
    missing = [k for k in ("column", "op", "value") if k not in rule]
    if missing:
        _fail(path, where, f"needs {missing} (or 'duplicate_of')")
    if rule["op"] not in OPS:
        _fail(path, where, f"unknown op {rule['op']!r}; known: {OPS}")


def parse_mapping(data: Any, path: str = "<mapping>") -> Mapping:
    """Checks a mapping's JSON object; raises MappingError naming the first problem."""
    if not isinstance(data, dict):
        _fail(path, "top level", "must be a JSON object")
    unknown = sorted(set(data) - {"source", "attribution", "description", "columns", "reject",
                                  "not_clicked_watch_time"})
    if unknown:
        _fail(path, "top level", f"unknown key(s) {unknown}")
    columns = data.get("columns")
    if not isinstance(columns, dict):
        _fail(path, "columns", "missing or not an object")
    missing = [c for c in names.LOG_COLUMNS if c not in columns]
    extra = sorted(set(columns) - set(names.LOG_COLUMNS))
    if missing:
        _fail(path, "columns", f"no rule for contract column(s) {missing}")
    if extra:
        _fail(path, "columns", f"{extra} are not contract columns; the contract has "
                               f"{list(names.LOG_COLUMNS)}")
    for column, rule in columns.items():
        _check_rule(path, column, rule)
    reject = data.get("reject", [])
    if not isinstance(reject, list):
        _fail(path, "reject", "must be a list")
    for i, rule in enumerate(reject):
        _check_reject(path, i, rule)
    policy = data.get("not_clicked_watch_time", "zero")
    if policy not in NOT_CLICKED_POLICIES:
        _fail(path, "not_clicked_watch_time", f"must be one of {NOT_CLICKED_POLICIES}, "
                                              f"got {policy!r}")
    source = data.get("source", {})
    return Mapping(path, {c: columns[c] for c in names.LOG_COLUMNS}, reject,
                   source.get("delimiter", ","), policy, data.get("attribution", ""),
                   data.get("description", ""))


def load_mapping(path: str) -> Mapping:
    """Reads and checks a mapping file; raises MappingError (a ValueError) on any problem."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise MappingError(f"mapping file {path}: not valid JSON: {err}") from None
    return parse_mapping(data, path)

