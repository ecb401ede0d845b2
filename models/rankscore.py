"""Eq. 3, the ranking score: one definition for the ranking service and the offline Table 3.

  rankscore = pCTR^a · pCVR^b · video_length^c

With a = b = c = 1 it is the expected watch time: P(click) · E[watch ratio | click] · length.
NumPy only, so offline analysis can use it without TensorFlow or gRPC.
"""

from __future__ import annotations

import numpy as np

_TINY = 1e-300  # log of a zero score: far below any real one, still finite


def rank_scores(pctr, pcvr, video_length, a: float, b: float, c: float) -> np.ndarray:
    """Eq. 3: pctr**a * pcvr**b * video_length**c, [N] float64 (inputs [N])."""
    return (np.power(np.asarray(pctr, np.float64), a) * np.power(np.asarray(pcvr, np.float64), b)
            * np.power(np.asarray(video_length, np.float64), c))


def log_rank_scores(pctr, pcvr, video_length, a: float, b: float, c: float) -> np.ndarray:
    """log of Eq. 3, [N] float64: the same order, on a scale where products become sums."""
    return np.log(np.maximum(rank_scores(pctr, pcvr, video_length, a, b, c), _TINY))
