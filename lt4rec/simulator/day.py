"""One day of impressions, generated vectorised from a ``World`` (see ``config.py`` for the story)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Dict

import numpy as np

from lt4rec.simulator import world as world_lib
from lt4rec.schemas import names, timefields

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _solve_intercept(logit: np.ndarray, target: float, link=_sigmoid) -> float:
    """b such that mean(link(logit + b)) == target (bisection; the mean is monotone in b)."""
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if link(logit + mid).mean() < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _sample_from_logits(rng, log_weights: np.ndarray, n: int) -> np.ndarray:
    """n draws of indices with probability proportional to exp(log_weights)."""
    w = np.exp(log_weights - np.max(log_weights))
    cdf = np.cumsum(w)
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(w) - 1)


@dataclasses.dataclass
class DayLog:
    """A day's log columns (contract order, ``names.LOG_COLUMNS``) and its ground truth.

    ``columns`` maps each log column name to an [n] array. ``truth`` maps ``impression_id``,
    ``p_click`` (expected click), ``expected_watch_ratio`` (E[label | click]) and the latent
    ``affinity``, ``item_appeal``, ``item_quality`` to [n] arrays, row-aligned with ``columns``.
    """
    date: dt.date
    columns: Dict[str, np.ndarray]
    truth: Dict[str, np.ndarray]


class HistoryState:
    """Each user's last H clicked item ids (newest first, -1 padded), carried across days."""

    def __init__(self, n_users: int, length: int):
        self.recent = np.full((n_users, length), -1, dtype=np.int64)

    def features(self, users: np.ndarray, items: np.ndarray, clicks: np.ndarray) -> np.ndarray:
        """Recent-click lists before each impression, then folds the day's clicks into the state.

        Args:
          users, items, clicks: [n] arrays in time order.
        Returns:
          [n, H] int64 item ids, newest first, -1 padded.
        """
        h = self.recent.shape[1]
        order = np.lexsort((np.arange(len(users)), users))  # by user, then time
        u, it, c = users[order], items[order], clicks[order].astype(bool)
        # Per user seen today: H carried clicks (oldest..newest) then today's clicks in order.
        day_users, first = np.unique(u, return_index=True)
        carried = self.recent[day_users][:, ::-1]                    # oldest first
        seq_len = h + np.bincount(np.searchsorted(day_users, u[c]), minlength=len(day_users))
        seq_start = np.concatenate([[0], np.cumsum(seq_len)[:-1]])
        seq = np.empty(seq_len.sum(), dtype=np.int64)
        carried_pos = seq_start[:, None] + np.arange(h)
        seq[carried_pos.ravel()] = carried.ravel()
        user_idx = np.searchsorted(day_users, u)
        clicks_before = np.cumsum(c) - c                             # clicks earlier in sorted order
        clicks_before_user = clicks_before - clicks_before[first][user_idx]
        click_pos = seq_start[user_idx[c]] + h + clicks_before_user[c]
        seq[click_pos] = it[c]
        end = seq_start[user_idx] + h + clicks_before_user          # exclusive end, per row
        window = seq[end[:, None] - 1 - np.arange(h)]                # newest first
        out = np.empty_like(window)
        out[order] = window
        last = seq_start + seq_len                                   # state after today
        self.recent[day_users] = seq[last[:, None] - 1 - np.arange(h)]
        return out


def _join_lists(ids: np.ndarray, n_values: int, sep: str = "|") -> np.ndarray:
    """[n, H] int ids in [0, n_values) (-1 = none, padding at the end) -> [n] 'a|b|c' strings."""
    # Lookup tables whose last entry ("") is what index -1 picks.
    first = np.array([str(i) for i in range(n_values)] + [""], dtype=object)
    rest = np.array([sep + s for s in first[:-1]] + [""], dtype=object)
    out = first[ids[:, 0]]
    for j in range(1, ids.shape[1]):
        out = out + rest[ids[:, j]]
    return out


def generate_day(world: world_lib.World, history: HistoryState, day_index: int,
                 date: dt.date, n_rows: int, rng: np.random.Generator) -> DayLog:
    """Draws ``n_rows`` impressions of ``date`` (the ``day_index``-th simulated day)."""
    c = world.config
    # who, where, when
    users = _sample_from_logits(rng, np.log(world.user_activity), n_rows)
    hours = rng.choice(24, size=n_rows, p=world_lib.HOUR_SHARES)
    day_start = int((dt.datetime(date.year, date.month, date.day, tzinfo=dt.timezone.utc)
                     - _EPOCH).total_seconds())
    timestamps = day_start + hours * 3600 + rng.integers(0, 3600, n_rows)
    time_order = np.argsort(timestamps, kind="stable")
    users, hours, timestamps = users[time_order], hours[time_order], timestamps[time_order]
    pages = rng.choice(len(c.page_shares), size=n_rows, p=np.asarray(c.page_shares))
    # which item: a personalised share by topic, the rest by global popularity
    log_w = world.item_log_weights(day_index)
    items = _sample_from_logits(rng, log_w, n_rows)
    personal = rng.random(n_rows) < c.personalized_share
    gumbel = rng.gumbel(size=(int(personal.sum()), c.n_topics))
    topics = np.argmax(world.user_interest[users[personal]] * c.interest_temperature + gumbel, 1)
    personal_items = np.empty(len(topics), dtype=np.int64)
    for k in range(c.n_topics):
        in_topic = np.flatnonzero((world.item_topic == k) & np.isfinite(log_w))
        rows = np.flatnonzero(topics == k)
        if len(in_topic) and len(rows):
            personal_items[rows] = in_topic[_sample_from_logits(rng, log_w[in_topic], len(rows))]
        elif len(rows):
            personal_items[rows] = items[personal][rows]
    items[personal] = personal_items
    # click
    affinity = world.affinity(users, items)
    logit = (c.w_affinity * affinity + c.w_appeal * world.item_appeal[items]
             + np.asarray(c.page_click_effects)[pages] + world_lib.HOUR_CLICK_EFFECT[hours]
             + world.user_propensity[users])
    target_ctr = np.clip(c.ctr + rng.normal(0.0, c.ctr_daily_jitter), 0.01, 0.99)
    p_click = _sigmoid(logit + _solve_intercept(logit, target_ctr))
    clicks = (rng.random(n_rows) < p_click).astype(np.int64)
    # watch
    length = world.item_length_s[items]
    eta = (c.v_affinity * affinity + c.v_quality * world.item_quality[items]
           - c.v_length * np.log(length / c.median_video_length_s) + world.user_patience[users])

    def expected_ratio(m):
        return (1.0 - c.full_watch_rate * m) * m + c.full_watch_rate * m

    base = _solve_intercept(eta[clicks == 1] if clicks.any() else eta, c.mean_watch_ratio,
                            link=lambda x: expected_ratio(_sigmoid(x)))
    m = _sigmoid(eta + base)
    kappa = c.watch_concentration
    ratio = rng.beta(np.maximum(m * kappa, 1e-3), np.maximum((1 - m) * kappa, 1e-3))
    full = rng.random(n_rows) < c.full_watch_rate * m
    ratio = np.where(full, 1.0 + rng.exponential(0.3, n_rows), ratio)
    watch = np.where(clicks == 1, np.round(ratio * length, 2), 0.0)
    # observable features
    recent = _join_lists(history.features(users, items, clicks), c.n_items)
    date_key = int(date.strftime("%Y%m%d"))
    impression_ids = date_key * 1_000_000_000 + np.arange(n_rows, dtype=np.int64)
    columns = {
        names.IMPRESSION_ID: impression_ids,
        names.TIMESTAMP: timestamps.astype(np.int64),
        names.USER_ID: users.astype(np.int64),
        names.USER_AGE_BUCKET: world_lib.AGE_BUCKETS[world.user_age[users]],
        names.USER_GENDER: world_lib.GENDERS[world.user_gender[users]],
        names.USER_RECENT_CLICKS: recent,
        names.ITEM_ID: items.astype(np.int64),
        names.ITEM_CATEGORY: world.item_category[items].astype(np.int64),
        names.ITEM_TAGS: world.item_tags[items],
        names.VIDEO_LENGTH_S: length,
        names.DAY_OF_WEEK: timefields.utc_weekday(timestamps),
        names.HOUR_OF_DAY: hours.astype(np.int64),
        names.SOURCE_PAGE: world_lib.SOURCE_PAGES[pages],
        names.CLICK: clicks,
        names.WATCH_TIME_S: watch,
    }
    truth = {
        names.IMPRESSION_ID: impression_ids,
        "p_click": p_click,
        "expected_watch_ratio": expected_ratio(m),
        "affinity": affinity,
        "item_appeal": world.item_appeal[items],
        "item_quality": world.item_quality[items],
    }
    return DayLog(date=date, columns=columns, truth=truth)
