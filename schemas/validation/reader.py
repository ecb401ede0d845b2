"""Reads one log CSV into raw string columns without losing a line.

Every data record the file holds comes back either in ``RawFile.columns`` (the row parsed into
exactly the header's number of fields) or in ``RawFile.unparseable`` (with why), so callers can
keep ``rows read = rows accepted + rows rejected``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import sys
from typing import Dict, List, Tuple

import numpy as np

_REPLACEMENT = "\ufffd"
csv.field_size_limit(min(sys.maxsize, 2 ** 31 - 1))


@dataclasses.dataclass
class RawFile:
    """A CSV file split into its header, its well-formed rows and its broken ones.

    Attributes:
      path: the file.
      header: column names of the first line ([] for an empty file).
      columns: column name -> [n_ok] object array of raw field strings.
      line_numbers: [n_ok] int, 1-based line of each well-formed row.
      rows: the well-formed rows as parsed field lists (``raw_line(i)`` re-joins one).
      unparseable: (line, reason, raw text) of each broken record.
    """
    path: str
    header: List[str]
    columns: Dict[str, np.ndarray]
    line_numbers: np.ndarray
    rows: List[List[str]]
    unparseable: List[Tuple[int, str, str]]

    def raw_line(self, i: int) -> str:
        """The i-th well-formed row as one CSV line (for quarantine files and messages)."""
        return _join(self.rows[i])

    @property
    def rows_read(self) -> int:
        return len(self.line_numbers) + len(self.unparseable)


def _join(fields: List[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def read_raw(path: str) -> RawFile:
    """Parses ``path`` as CSV with a header line.

    Rows whose field count differs from the header's, blank lines, and rows holding bytes that
    are not UTF-8 are returned in ``unparseable``; nothing is skipped.
    """
    ok_rows: List[List[str]] = []
    ok_lines: List[int] = []
    bad: List[Tuple[int, str, str]] = []
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, strict=False)
        try:
            header = next(reader)
        except StopIteration:
            return RawFile(path, [], {}, np.zeros(0, np.int64), [], [])
        width = len(header)
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as err:  # e.g. a NUL byte
                bad.append((start, f"unparseable CSV record: {err}", ""))
                start = reader.line_num + 1
                continue
            if any(_REPLACEMENT in field for field in row):
                bad.append((start, "bytes that are not valid UTF-8", _join(row)))
            elif len(row) != width:
                what = "empty line" if not row else f"{len(row)} fields, header has {width}"
                bad.append((start, f"unparseable line: {what}", _join(row)))
            else:
                ok_rows.append(row)
                ok_lines.append(start)
            start = reader.line_num + 1
    if ok_rows:
        cols = list(zip(*ok_rows))
        columns = {name: np.array(cols[i], dtype=object) for i, name in enumerate(header)}
    else:
        columns = {name: np.zeros(0, dtype=object) for name in header}
    return RawFile(path, header, columns, np.array(ok_lines, dtype=np.int64), ok_rows, bad)
