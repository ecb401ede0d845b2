"""Statistics over seeds: mean ± std, paired t-tests, and the resolution of a test window."""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import numpy as np


def summarize(values: Sequence[float]) -> Dict:
    """{"mean", "std", "n", "values"}; std is the sample std (ddof 1), None for one value."""
    v = [float(x) for x in values]
    return {"mean": float(np.mean(v)) if v else None,
            "std": float(np.std(v, ddof=1)) if len(v) > 1 else None,
            "n": len(v), "values": v}


def paired_test(a: Sequence[float], b: Sequence[float]) -> Dict:
    """Paired t-test of a vs b (same seeds, in the same order): scipy.stats.ttest_rel.

    Returns:
      {"p_value": p or None, "n": pairs, "note": why p is None}; p is undefined for fewer
      than two pairs or when every paired difference is identical.
    """
    from scipy import stats
    if len(a) != len(b):
        raise ValueError(f"paired test needs equal lengths. Received: {len(a)} and {len(b)}")
    n = len(a)
    if n < 2:
        return {"p_value": None, "n": n, "note": "fewer than 2 seeds"}
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if np.allclose(diff, diff[0], rtol=0.0, atol=0.0):
        return {"p_value": None, "n": n, "note": "every paired difference is equal"}
    return {"p_value": float(stats.ttest_rel(a, b).pvalue), "n": n, "note": ""}


def paired_mean_se(x: np.ndarray) -> float:
    """Standard error of the mean of per-example values x: std(x, ddof=1) / sqrt(n)."""
    x = np.asarray(x, np.float64)
    if len(x) < 2:
        return float("nan")
    return float(np.std(x, ddof=1) / math.sqrt(len(x)))


def mse_difference_resolution(sq_err_a: Sequence[np.ndarray], sq_err_b: Sequence[np.ndarray],
                              relative: float = 0.01) -> Dict:
    """Can this test window separate a ``relative`` (e.g. 1%) CVR MSE difference of a vs b?

    Args:
      sq_err_a, sq_err_b: per seed, [N_click] squared errors of two models on the same test
        rows (seed i of a paired with seed i of b).
    Returns:
      mse_b: mean MSE of b; target: relative * mse_b; row_se: the test rows' sampling SE of
      the MSE difference (paired over rows, averaged over seeds); seed_se: std over seeds of
      the per-seed difference / sqrt(K) (None for K = 1); total_se: sqrt(row_se² + seed_se²);
      detectable: 1.96 * total_se < target (a 1% difference would be significant at 5%);
      clicked_rows: N_click; clicked_rows_needed: N_click at which 1.96 * row_se = target.
    """
    diffs = [np.mean(a) - np.mean(b) for a, b in zip(sq_err_a, sq_err_b)]
    row_se = float(np.mean([paired_mean_se(a - b) for a, b in zip(sq_err_a, sq_err_b)]))
    k = len(diffs)
    seed_se = float(np.std(diffs, ddof=1) / math.sqrt(k)) if k > 1 else None
    total = math.sqrt(row_se ** 2 + (seed_se or 0.0) ** 2)
    mse_b = float(np.mean([np.mean(b) for b in sq_err_b]))
    target = relative * mse_b
    n = len(sq_err_b[0]) if sq_err_b else 0
    # rows at which the row SE alone would reach target / 1.96 (SE shrinks as 1/sqrt(rows))
    rows_needed = int(math.ceil(n * (1.96 * row_se / target) ** 2)) if target > 0 else None
    return {"mse_b": mse_b, "relative": relative, "target": target, "row_se": row_se,
            "clicked_rows_needed": rows_needed,
            "seed_se": seed_se, "total_se": total, "detectable": bool(1.96 * total < target),
            "clicked_rows": int(len(sq_err_b[0])) if sq_err_b else 0, "seeds": k,
            "mean_difference": float(np.mean(diffs)) if diffs else None}


def verdict(diff: float, lower_is_better: bool) -> str:
    """"better", "worse" or "same" for a difference variant − baseline = ``diff``.

    Example: a CVR MSE that went up (``diff`` > 0, ``lower_is_better``) is "worse".
    """
    if diff == 0:
        return "same"
    return "worse" if (diff > 0) == lower_is_better else "better"


def fmt_mean_std(s: Optional[Dict], digits: int) -> str:
    """'0.09852 ± 0.00018' (or '0.09852' for one seed, '–' for none)."""
    if not s or s.get("mean") is None:
        return "–"
    if s.get("std") is None:
        return f"{s['mean']:.{digits}f}"
    return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}"
