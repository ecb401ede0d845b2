"""The contract's time fields of a UTC Unix timestamp: ``hour_of_day`` and ``day_of_week``.

One definition for the validator (which checks the logged fields against the timestamp), the
public-data adapter (which derives them) and the simulator (which writes them).
Monday is 0, as Python's ``date.weekday()``.
"""

from __future__ import annotations

import numpy as np

SECONDS_PER_DAY = 86400
# 1970-01-01 (day 0 of Unix time) was a Thursday: weekday 3 when Monday is 0.
_EPOCH_WEEKDAY = 3


def utc_hour(timestamp) -> np.ndarray:
    """Hour of the UTC day, 0..23, of each Unix timestamp (seconds, int array-like)."""
    return (np.asarray(timestamp, np.int64) // 3600) % 24


def utc_weekday(timestamp) -> np.ndarray:
    """UTC weekday, Monday = 0 .. Sunday = 6, of each Unix timestamp (seconds, int array-like).

    Example: ``utc_weekday([0, 345600]) -> [3, 0]`` (1970-01-01 a Thursday, 01-05 a Monday).
    """
    return (np.asarray(timestamp, np.int64) // SECONDS_PER_DAY + _EPOCH_WEEKDAY) % 7
