"""The contract's value rules over typed columns, vectorised: one implementation for logs and
ranking requests.

``check_column(feature, values, present, parsed)`` says, for each row of one column, which rules
of ``log_schema.pbtxt`` the value breaks: presence (``required``), type (an integer that fits
int64, a finite number, a UTF-8 list of ids joined by the separator), vocabulary, inclusive
bounds and the ``positive`` tag. Log validation (``validation/rules.py``) parses CSV fields into
typed columns and calls it; the ranking service (``lt4rec.serving.rank_request``) calls it on
the columns of a request; so a value is accepted by both or refused by both. Work is per column
(NumPy masks, one regular expression over a column joined into one string), never a Python loop
per row on the accepting path.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from lt4rec.schemas.contract import DType, Feature, Kind

# Anomaly classes of value rules (validation/rules.py adds the file and cross-column ones).
MISSING_VALUE = "missing_value"
WRONG_TYPE = "wrong_type"
OUT_OF_DOMAIN = "out_of_domain"
OUT_OF_RANGE = "out_of_range"
NOT_POSITIVE = "not_positive"

INT_PATTERN = r"[+-]?\d+"
_TYPE_REQUIREMENT = {DType.INT: "a 64-bit integer", DType.FLOAT: "a finite number",
                     DType.STRING: "UTF-8 text"}


@dataclasses.dataclass
class Violation:
    """Rows of one column (or file) that break one rule.

    Attributes:
      code: anomaly class (a constant above or of ``validation.rules``).
      column: the column concerned (the first one, for cross-column rules).
      mask: [n_rows] bool, True where the rule is broken.
      requirement: what the value should have been, e.g. "in [0, 23]".
    """
    code: str
    column: str
    mask: np.ndarray
    requirement: str


def list_pattern(feature: Feature, joiner: str = "") -> str:
    """The regular expression one field of a LIST column matches (ids joined by its separator);
    with ``joiner``, elements may not contain it (used to check a whole joined column)."""
    sep = re.escape(feature.list_separator)
    if feature.list_dtype is DType.INT:
        elem = INT_PATTERN
    else:
        elem = "[^" + sep + re.escape(joiner) + "]+"
    return f"(?:{elem})(?:{sep}(?:{elem}))*"


def _fullmatch_each(raw: Sequence[str], pattern: str) -> np.ndarray:
    regex = re.compile(pattern)
    return np.fromiter((regex.fullmatch(x) is not None for x in raw), bool, len(raw))


@functools.lru_cache(maxsize=None)
def _non_id_char(separator: str):
    return re.compile("[^0-9\n" + re.escape(separator) + "]")


def _joined_ok(feature: Feature, joined: str) -> bool:
    """True only if every field of the newline-joined column is well formed (False may still
    be all good: the caller then checks field by field)."""
    sep = feature.list_separator
    if feature.list_dtype is DType.INT and "+" not in joined and "-" not in joined:
        # unsigned ids: only digits and separators, and no empty id (C-speed substring tests)
        return (_non_id_char(sep).search(joined) is None and sep + sep not in joined
                and sep + "\n" not in joined and "\n" + sep not in joined
                and not joined.startswith(sep) and not joined.endswith(sep))
    item = list_pattern(feature, "\n")
    return re.fullmatch(f"(?:{item})?(?:\n(?:{item})?)*", joined) is not None


def list_format_ok(feature: Feature, raw: np.ndarray) -> np.ndarray:
    """[n] bool: each field of a LIST column is empty or ids joined by the separator.

    All-good columns (the usual case) cost one scan of the column joined by newlines; only a
    column with a bad field (or a field holding a newline) is matched field by field.
    """
    if len(raw) == 0:
        return np.zeros(0, bool)
    joined = "\n".join(raw)
    if joined.count("\n") == len(raw) - 1 and _joined_ok(feature, joined):
        return np.ones(len(raw), bool)
    return _fullmatch_each(raw, list_pattern(feature)) | (raw == "")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def bounds_text(feature: Feature) -> str:
    lo, hi = feature.min_value, feature.max_value
    return f"in [{'-inf' if lo is None else _fmt(lo)}, {'inf' if hi is None else _fmt(hi)}]"


def _numeric_rules(feature: Feature, values: np.ndarray, fits: np.ndarray
                   ) -> Tuple[np.ndarray, List[Violation]]:
    """Bounds and ``positive`` over the values that fit the type (the others break neither)."""
    out, ok = [], fits
    lo, hi = feature.min_value, feature.max_value
    if lo is None and hi is None and not feature.positive:
        return ok, out
    # NaN (unparseable) rows compare False without a warning, and ``fits`` masks them out
    if lo is not None or hi is not None:
        within = (values >= lo) if lo is not None else np.ones(len(values), bool)
        if hi is not None:
            within &= values <= hi
        inside = ~fits | within
        out.append(Violation(OUT_OF_RANGE, feature.name, ~inside, bounds_text(feature)))
        ok = ok & inside
    if feature.positive:
        pos = ~fits | (values > 0)
        out.append(Violation(NOT_POSITIVE, feature.name, ~pos, "> 0"))
        ok = ok & pos
    return ok, out


def check_column(feature: Feature, values: np.ndarray, present: np.ndarray,
                 parsed: Optional[np.ndarray] = None) -> Tuple[np.ndarray, List[Violation]]:
    """Every value rule of ``feature`` over one typed column.

    Args:
      feature: the contract column.
      values: [n] typed values: int64 for INT, float for FLOAT (NaN where unparseable; checked
        as float32, what a tf.Example and the models hold: 1e39 is not finite, 1e-50 is 0),
        str for STRING and LIST columns ("" where absent).
      present: [n] bool, False where the field is empty (absent).
      parsed: [n] bool, False where a present field did not parse as the column's type
        (None: every present field parsed).
    Returns:
      (ok, violations): ok [n] bool, True where the value is present and breaks no rule;
      violations with all-False masks included (callers keep those with ``mask.any()``).
    """
    present = np.asarray(present, bool)
    fits = present if parsed is None else present & parsed
    out: List[Violation] = []
    if feature.required:
        out.append(Violation(MISSING_VALUE, feature.name, ~present, "a value"))
    if feature.kind is Kind.LIST:
        fmt_ok = list_format_ok(feature, values) if present.any() else np.ones(len(values), bool)
        out.append(Violation(WRONG_TYPE, feature.name, present & ~(fits & fmt_ok),
                             f"ids joined by '{feature.list_separator}'"))
        return fits & fmt_ok, out
    if feature.dtype is DType.FLOAT:  # checked as the models read it: float32 (tf.Example)
        with np.errstate(over="ignore"):
            values = np.asarray(values).astype(np.float32)
        fits = fits & np.isfinite(values)
    out.append(Violation(WRONG_TYPE, feature.name, present & ~fits,
                         _TYPE_REQUIREMENT[feature.dtype]))
    if feature.dtype is DType.STRING:
        ok = fits
        if feature.vocabulary:
            in_vocab = np.isin(values, np.array(feature.vocabulary, dtype=object))
            out.append(Violation(OUT_OF_DOMAIN, feature.name, fits & ~in_vocab,
                                 "one of " + ", ".join(feature.vocabulary)))
            ok = ok & in_vocab
        return ok, out
    ok, numeric = _numeric_rules(feature, values, fits)
    return ok, out + numeric


def decode_utf8(raw: Sequence[bytes]) -> Tuple[np.ndarray, np.ndarray]:
    """Byte strings -> ([n] object array of str, [n] bool decoded ok); one decode of the joined
    column when it is all valid UTF-8 without newlines, field by field otherwise."""
    n = len(raw)
    try:
        parts = b"\n".join(raw).decode("utf-8").split("\n")
    except UnicodeDecodeError:
        parts = []
    if len(parts) == n:
        return np.array(parts, dtype=object), np.ones(n, bool)
    text, ok = np.empty(n, dtype=object), np.ones(n, bool)
    for i, b in enumerate(raw):
        try:
            text[i] = b.decode("utf-8")
        except UnicodeDecodeError:
            text[i], ok[i] = "", False
    return text, ok
