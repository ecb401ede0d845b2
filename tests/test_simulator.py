"""Simulator: determinism, configured rates, and the planted CTR/CVR structure in its output."""

import dataclasses
import filecmp
import os

import numpy as np
import pandas as pd
import pytest

from lt4rec.schemas import logs
from lt4rec.simulator import SimulatorConfig, simulate
from lt4rec.simulator.run import iter_days
from lt4rec.schemas import labels, names

from conftest import SMALL_WORLD


def _day_files(root):
    return [p for p, _ in logs.find_log_files(str(root))]


def test_same_seed_same_bytes_other_seed_other_logs(tmp_path, small_logs):
    simulate(str(tmp_path / "again"), 2, 5000, seed=3, config=SMALL_WORLD)
    simulate(str(tmp_path / "other"), 2, 5000, seed=4, config=SMALL_WORLD)
    for a, b, c in zip(_day_files(small_logs), _day_files(tmp_path / "again"),
                       _day_files(tmp_path / "other")):
        assert filecmp.cmp(a, b, shallow=False)
        assert not filecmp.cmp(a, c, shallow=False)


def test_day_d_does_not_depend_on_how_many_days_follow():
    one = next(iter_days(1, 2000, seed=5, config=SMALL_WORLD))
    three = next(iter_days(3, 2000, seed=5, config=SMALL_WORLD))
    for name in names.LOG_COLUMNS:
        np.testing.assert_array_equal(one.columns[name], three.columns[name])


def test_layout_matches_tfx_span_pattern(small_logs):
    days = sorted(d for d in os.listdir(small_logs) if not d.startswith("_"))
    assert days == ["2026-11-01", "2026-11-02"]
    for d in days:
        frame = pd.read_csv(small_logs / d / logs.LOG_FILE_NAME)
        assert tuple(frame.columns) == names.LOG_COLUMNS and len(frame) == 5000
    truth = pd.read_csv(small_logs / logs.GROUND_TRUTH_DIR / "2026-11-01.csv")
    assert {"p_click", "expected_watch_ratio"} <= set(truth.columns) and len(truth) == 5000


@pytest.mark.parametrize("ctr,watch", [(0.41, 0.45), (0.2, 0.6)])
def test_configured_rates_are_met(ctr, watch):
    cfg = dataclasses.replace(SMALL_WORLD, ctr=ctr, mean_watch_ratio=watch, ctr_daily_jitter=0.0)
    for day in iter_days(2, 20000, seed=1, config=cfg):
        c = day.columns
        assert abs(c[names.CLICK].mean() - ctr) < 0.02
        ratio = labels.watch_ratio(c[names.WATCH_TIME_S], c[names.VIDEO_LENGTH_S], c[names.CLICK])
        assert abs(np.nanmean(ratio) - watch) < 0.03
        assert np.nanmin(ratio) >= 0 and np.nanmax(ratio) <= 1
        assert np.all(c[names.WATCH_TIME_S][c[names.CLICK] == 0] == 0)
        assert abs(day.truth["p_click"].mean() - ctr) < 1e-3  # the calibration itself is exact


def _partial_corr(y, x, controls):
    """Correlation of x and y after regressing both on ``controls`` (and a constant)."""
    design = np.column_stack([np.ones(len(y))] + list(controls))
    def resid(v):
        return v - design @ np.linalg.lstsq(design, v, rcond=None)[0]
    return float(np.corrcoef(resid(np.asarray(x, float)), resid(np.asarray(y, float)))[0, 1])


@pytest.mark.parametrize("seed", [11, 12])
def test_planted_structure_appeal_drives_clicks_not_watching(seed):
    # Impression-level raw correlations are dominated by a few head items (Zipf) and by the
    # collider "clicked despite low interest"; partial correlations given the other true
    # drivers (from the ground-truth side file) isolate each planted effect.
    day = next(iter_days(1, 40000, seed=seed, config=SMALL_WORLD))
    c, t = day.columns, day.truth
    k = c[names.CLICK] == 1
    click = c[names.CLICK].astype(float)
    ratio = labels.watch_ratio(c[names.WATCH_TIME_S], c[names.VIDEO_LENGTH_S], c[names.CLICK])[k]
    log_len = np.log(c[names.VIDEO_LENGTH_S])
    appeal, quality, affinity = t["item_appeal"], t["item_quality"], t["affinity"]

    assert np.corrcoef(appeal, click)[0, 1] > 0.2                       # clickbait earns clicks
    assert _partial_corr(click, appeal, [affinity]) > 0.2
    assert abs(_partial_corr(ratio, appeal[k], [quality[k], log_len[k], affinity[k]])) < 0.03
    assert _partial_corr(ratio, quality[k], [log_len[k], affinity[k]]) > 0.3  # quality: watching
    assert abs(_partial_corr(click, quality, [affinity, appeal])) < 0.03      # ... not clicks
    assert abs(_partial_corr(click, log_len, [affinity, appeal])) < 0.03      # length: not clicks
    assert _partial_corr(ratio, log_len[k], [quality[k], affinity[k]]) < -0.2  # ... but watching
    assert _partial_corr(click, affinity, [appeal]) > 0.2                      # interest: both
    assert _partial_corr(ratio, affinity[k], [quality[k], log_len[k]]) > 0.2


def test_popularity_and_activity_are_heavy_tailed():
    day = next(iter_days(1, 40000, seed=2))
    c = day.columns
    per_item = np.sort(np.bincount(c[names.ITEM_ID]))[::-1]
    top_share = per_item[: len(per_item) // 100].sum() / per_item.sum()
    assert top_share > 0.3, top_share                    # top 1% of items: > 30% of impressions
    clicks = pd.Series(c[names.CLICK]).groupby(c[names.USER_ID]).sum()
    assert (clicks <= 2).mean() > 0.6                    # most users have few clicks
    assert clicks.max() >= 20                            # and a few have many


def test_days_drift():
    days = list(iter_days(3, 20000, seed=9, config=SMALL_WORLD))
    shares = [np.bincount(d.columns[names.ITEM_ID], minlength=SMALL_WORLD.n_items) / 20000
              for d in days]
    # Popularity moves day to day, and items released later appear only later.
    assert np.abs(shares[0] - shares[2]).sum() > np.abs(shares[0] - shares[1]).sum() * 0.9 > 0.1
    assert set(days[2].columns[names.ITEM_ID]) - set(days[0].columns[names.ITEM_ID])


def test_recent_clicks_are_the_users_previous_clicks_newest_first():
    cfg = dataclasses.replace(SMALL_WORLD, n_users=200, history_length=4)
    history = {}
    for day in iter_days(2, 3000, seed=4, config=cfg):
        c = day.columns
        assert np.all(np.diff(c[names.TIMESTAMP]) >= 0)
        for u, it, clk, recent in zip(c[names.USER_ID], c[names.ITEM_ID], c[names.CLICK],
                                      c[names.USER_RECENT_CLICKS]):
            expected = history.get(u, [])[::-1][:4]
            assert recent == "|".join(map(str, expected))
            if clk:
                history.setdefault(u, []).append(it)


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="ctr"):
        SimulatorConfig(ctr=1.5)


def test_config_file_overrides(tmp_path):
    path = tmp_path / "sim.json"
    path.write_text('{"ctr": 0.3, "page_shares": [0.5, 0.2, 0.1, 0.1, 0.1]}')
    assert SimulatorConfig.from_json(str(path)).ctr == 0.3
    path.write_text('{"ctrr": 0.3}')
    with pytest.raises(ValueError, match="ctrr"):
        SimulatorConfig.from_json(str(path))
