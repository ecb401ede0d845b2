"""Knobs of the traffic-log simulator (a typed config; defaults are the embedded demo world).

The generative story, in order (see ``world.py`` and ``day.py``):

1. **World.** ``n_topics`` latent topics. Each user has an interest vector over topics (shifted
   by age bucket), a click propensity, a patience (watch) bias, and an activity level drawn
   log-normally with ``user_activity_sigma`` (heavy tail: most users see few impressions, so
   most users have few clicks -- the CVR sparsity problem). Each item has a primary topic (its
   ``item_category``, wrong for ``category_noise`` of items), a topic vector, 1-5 tags drawn
   mostly from its topic's tags, a Zipf-Mandelbrot popularity ``(rank + zipf_offset)^-zipf_exponent``, and three latent scalars:
   **appeal** (cover/title attractiveness), **quality**, and a log-normal **length**.
2. **Impressions.** A user is drawn by activity; with probability ``personalized_share`` the
   item comes from a topic drawn by the user's interests (the recommender's doing), otherwise
   from global popularity. Hour follows a diurnal profile, page follows ``page_shares``.
3. **Click.** ``logit = b_day + w_affinity*affinity(user, item) + w_appeal*appeal + page effect
   + hour effect + user propensity``; ``b_day`` is solved so the day's mean click probability is
   ``ctr`` (jittered by ``ctr_daily_jitter``). Quality and length do not enter: the click is
   what a thumbnail and a user's interest decide.
4. **Watch ratio (on clicks).** ``m = sigmoid(c_day + v_affinity*affinity + v_quality*quality
   - v_length*log(length/median) + user patience)``; the watched fraction is Beta(m*k, (1-m)*k)
   with k = ``watch_concentration``, and with probability ``full_watch_rate * m`` the user
   finishes and may replay (ratio >= 1, the label caps it at 1). ``c_day`` is solved so the mean
   expected watch ratio among clicks is ``mean_watch_ratio``. Appeal does not enter: clickbait
   earns clicks, not watching -- the CTR/CVR conflict sparse sharing is meant to resolve.
5. **Drift across days.** User interests follow an AR(1) walk (``interest_drift``), item
   popularity a log-normal walk (``popularity_drift``), new items are released every day
   (``new_item_share`` of the catalogue is held back and released evenly over the first
   ``release_horizon_days`` days, with a freshness boost), and the target CTR moves by ``ctr_daily_jitter``.

``user_recent_clicks`` is the user's last ``history_length`` clicked items before each
impression (carried across days), so it reflects true interests, as a real log's would.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Tuple


@dataclasses.dataclass(frozen=True)
class SimulatorConfig:
    """Simulator knobs; see the module docstring for the story each one plays a part in."""
    n_users: int = 50_000
    n_items: int = 20_000
    n_topics: int = 16
    n_tags: int = 256
    history_length: int = 10
    # rates
    ctr: float = 0.41                 # Tencent Video: 121M clicks / 297M impressions
    ctr_daily_jitter: float = 0.01
    mean_watch_ratio: float = 0.45
    watch_concentration: float = 3.0
    full_watch_rate: float = 0.25
    # click model weights
    w_affinity: float = 1.0
    w_appeal: float = 0.8
    user_click_propensity_sigma: float = 0.5
    # watch model weights
    v_affinity: float = 0.8
    v_quality: float = 0.8
    v_length: float = 0.5
    user_patience_sigma: float = 0.3
    # population shape
    zipf_exponent: float = 1.05
    zipf_offset: float = 20.0
    user_activity_sigma: float = 1.5
    personalized_share: float = 0.5
    interest_temperature: float = 1.5
    category_noise: float = 0.1
    median_video_length_s: float = 90.0
    video_length_sigma: float = 0.9
    page_shares: Tuple[float, ...] = (0.55, 0.2, 0.1, 0.1, 0.05)
    page_click_effects: Tuple[float, ...] = (0.0, 0.2, 0.6, -0.1, 0.4)
    # drift
    interest_drift: float = 0.05
    popularity_drift: float = 0.1
    new_item_share: float = 0.1
    release_horizon_days: int = 30
    freshness_boost: float = 2.0

    def __post_init__(self):
        def check(ok, what, value):
            if not ok:
                raise ValueError(f"SimulatorConfig: `{what}` {value!r} is invalid.")
        for name in ("n_users", "n_items", "n_topics", "n_tags", "history_length",
                     "release_horizon_days"):
            check(getattr(self, name) >= 1, f"{name} must be >= 1. Received: {name}=",
                  getattr(self, name))
        check(0.0 < self.ctr < 1.0, "ctr must be in (0, 1). Received: ctr=", self.ctr)
        check(0.0 < self.mean_watch_ratio < 1.0,
              "mean_watch_ratio must be in (0, 1). Received: mean_watch_ratio=",
              self.mean_watch_ratio)
        check(0.0 <= self.full_watch_rate <= 1.0, "full_watch_rate must be in [0, 1]. Received:",
              self.full_watch_rate)
        check(self.n_tags >= self.n_topics, "n_tags must be >= n_topics. Received: n_tags=",
              self.n_tags)
        check(len(self.page_shares) == len(self.page_click_effects),
              "page_shares and page_click_effects must have the same length. Received:",
              (self.page_shares, self.page_click_effects))
        check(abs(sum(self.page_shares) - 1.0) < 1e-6, "page_shares must sum to 1. Received:",
              self.page_shares)
        check(0.0 <= self.new_item_share < 1.0, "new_item_share must be in [0, 1). Received:",
              self.new_item_share)

    @classmethod
    def from_json(cls, path: str) -> "SimulatorConfig":
        """Loads a config from a JSON object of field overrides; unknown keys are an error."""
        with open(path, encoding="utf-8") as fh:
            overrides = json.load(fh)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"{path}: unknown simulator settings {unknown}; known: {sorted(known)}")
        for k, v in overrides.items():
            if isinstance(v, list):
                overrides[k] = tuple(v)
        return cls(**overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
