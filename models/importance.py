"""What iterative pruning ranks: the importance of each maskable unit of an sNET layer.

The papers rank by trained magnitude. Because every task's round starts from the same theta,
trained magnitudes are mostly theta's magnitudes, and the tasks keep nearly the same weights
(issue 12). The other criteria rank what the task's own round changed:

=========================== ===============================================================
criterion                   score of one kernel entry (weight masks)
=========================== ===============================================================
magnitude (papers)          |w|
movement (departure)        |w - theta|
magnitude_times_movement    |w| * |w - theta|
=========================== ===============================================================

For neuron masks the score of a unit is the root mean square of its column's entry scores
(its incoming weights), as for magnitude.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from lt4rec.models.config import IMPORTANCES


def entry_scores(kernel: np.ndarray, theta: Optional[np.ndarray], criterion: str) -> np.ndarray:
    """Per-entry importance of ``kernel`` ([in, units]) under ``criterion``.

    Args:
      kernel: the trained kernel of the round.
      theta: the same kernel at theta (rewind point); required unless ``criterion`` is
        ``magnitude``.
    Returns:
      [in, units] float, larger = more important.
    Raises:
      ValueError: unknown criterion, or theta missing / of another shape where needed.
    """
    if criterion not in IMPORTANCES:
        raise ValueError(f"`importance` must be one of {IMPORTANCES}. Received: "
                         f"importance={criterion!r}")
    kernel = np.asarray(kernel, np.float64)
    if criterion == "magnitude":
        return np.abs(kernel)
    if theta is None or np.shape(theta) != kernel.shape:
        raise ValueError(f"importance={criterion!r} needs theta's kernel of shape "
                         f"{kernel.shape}. Received: "
                         f"{None if theta is None else np.shape(theta)}")
    movement = np.abs(kernel - np.asarray(theta, np.float64))
    if criterion == "movement":
        return movement
    return np.abs(kernel) * movement


def unit_scores(kernel: np.ndarray, theta: Optional[np.ndarray], criterion: str,
                mask_type: str) -> np.ndarray:
    """Scores of the maskable units: entries ([in, units]) or output units ([units])."""
    scores = entry_scores(kernel, theta, criterion)
    if mask_type == "neuron":
        return np.sqrt(np.mean(scores ** 2, axis=0))
    return scores
