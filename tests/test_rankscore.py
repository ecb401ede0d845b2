"""Eq. 3, the ranking score, on values checkable by hand."""

import math

import numpy as np

from lt4rec.models.rankscore import log_rank_scores, rank_scores


def test_unit_exponents_give_the_expected_watch_time():
    # P(click) 0.5 x E[ratio | click] 0.4 x 100 s = 20 s expected watch time
    np.testing.assert_allclose(rank_scores([0.5], [0.4], [100.0], 1, 1, 1), [20.0])


def test_exponents_weigh_each_factor():
    np.testing.assert_allclose(rank_scores([0.5, 0.2], [0.4, 0.9], [100.0, 10.0], 2, 0, 0),
                               [0.25, 0.04])
    np.testing.assert_allclose(rank_scores([0.5], [0.25], [9.0], 1, 0.5, 0.5), [0.75])


def test_log_scores_rank_like_the_scores_and_stay_finite_at_zero():
    pctr, pcvr, length = [0.1, 0.0, 0.9, 0.5], [0.8, 0.5, 0.1, 0.5], [30.0, 60.0, 10.0, 20.0]
    scores = rank_scores(pctr, pcvr, length, 1, 1, 1)
    logs = log_rank_scores(pctr, pcvr, length, 1, 1, 1)
    assert list(np.argsort(scores)) == list(np.argsort(logs)) == [1, 2, 0, 3]
    assert math.isfinite(logs[1]) and logs[1] < -600
    np.testing.assert_allclose(logs[[0, 2, 3]], np.log([2.4, 0.9, 5.0]))
