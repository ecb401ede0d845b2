"""The quarantine: a CSV of rejected rows, each with its reasons, and the count per reason.

One implementation for the validator (``validate_logs``: a row's file and line, reason codes,
details, raw line) and the public-data adapter (``lt4rec.adapt``: the source line, reasons,
raw row). Nothing rejected goes unrecorded: every ``reject`` writes one CSV row (when a path
is given) and counts each of its reasons.
"""

from __future__ import annotations

import collections
import csv
import os
from typing import Optional, Sequence

REASON_SEPARATOR = ";"
DETAIL_SEPARATOR = "; "


class Quarantine:
    """Streams rejected rows to ``path`` (None: count only) and tallies rows per reason.

    CSV columns: ``place_columns`` (where the row was, e.g. ``("file", "line")``), ``reasons``
    (``;``-joined), ``details`` (only ``with_details``; ``; ``-joined), ``raw``.

    Attributes:
      rows: rows rejected so far.
      by_reason: reason -> rows rejected for it (a row with two reasons counts for both).
    """

    def __init__(self, path: Optional[str], place_columns: Sequence[str],
                 with_details: bool = False):
        self.path = path
        self.with_details = with_details
        self.rows = 0
        self.by_reason: collections.Counter = collections.Counter()
        self._fh = self._writer = None
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self._fh = open(path, "w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(list(place_columns) + ["reasons"]
                                  + (["details"] if with_details else []) + ["raw"])

    def reject(self, place: Sequence, reasons: Sequence[str], raw: str,
               details: Sequence[str] = ()) -> None:
        """Records one rejected row: where it was, why, and its raw text."""
        self.rows += 1
        self.by_reason.update(reasons)
        if self._writer:
            self._writer.writerow(list(place) + [REASON_SEPARATOR.join(reasons)]
                                  + ([DETAIL_SEPARATOR.join(details)] if self.with_details
                                     else []) + [raw])

    def close(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = self._writer = None

    def __enter__(self) -> "Quarantine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
