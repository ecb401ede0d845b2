"""Label definitions derived from logged columns (the one place that says what CVR means)."""

from __future__ import annotations

import numpy as np


def watch_ratio(watch_time_s, video_length_s, click) -> np.ndarray:
    """CVR label: min(watch_time_s / video_length_s, 1) on clicked impressions, NaN elsewhere.

    Args:
      watch_time_s: float array [n], seconds watched (>= 0).
      video_length_s: float array [n], video duration in seconds (> 0).
      click: int array [n] in {0, 1}.

    Returns:
      float64 array [n]; NaN where ``click == 0`` (the CVR label is undefined without a click),
      replays (ratio > 1) capped at 1.
    """
    watch = np.asarray(watch_time_s, dtype=np.float64)
    length = np.asarray(video_length_s, dtype=np.float64)
    clicked = np.asarray(click) == 1
    ratio = np.full(watch.shape, np.nan)
    np.divide(watch, length, out=ratio, where=clicked & (length > 0))
    return np.where(clicked, np.minimum(ratio, 1.0), np.nan)


def watch_ratio_column(watch_time_s, video_length_s, click) -> np.ndarray:
    """The derived ``watch_ratio`` column as ExampleGen writes it: ``watch_ratio`` with 0 on
    non-clicks (float32), so it can sit in every example; weight CVR metrics by click."""
    ratio = watch_ratio(watch_time_s, video_length_s, click)
    return np.nan_to_num(ratio, nan=0.0).astype(np.float32)
