"""The simulated platform: users and items with latent traits, and their day-to-day drift.

All arrays are NumPy; one ``World`` is built from a seed and then advanced day by day, so a
seed fixes every day's log.
"""

from __future__ import annotations

import numpy as np

from lt4rec.simulator.config import SimulatorConfig
from lt4rec.schemas import contract, names

_CONTRACT = contract.load()
AGE_BUCKETS = np.array(_CONTRACT[names.USER_AGE_BUCKET].vocabulary, dtype=object)
GENDERS = np.array(_CONTRACT[names.USER_GENDER].vocabulary, dtype=object)
SOURCE_PAGES = np.array(_CONTRACT[names.SOURCE_PAGE].vocabulary, dtype=object)

# Share of users per age bucket / gender, in the vocabulary's order.
_AGE_SHARES = np.array([0.08, 0.05, 0.25, 0.28, 0.17, 0.10, 0.07])
_GENDER_SHARES = np.array([0.46, 0.46, 0.08])
# Diurnal profile of impressions per UTC hour (an evening peak), and the click effect per hour.
_HOUR_SHARES = np.array([3, 2, 1.5, 1, 1, 1.2, 2, 3, 4, 4.5, 4.5, 5, 5.5, 5, 4.5, 4.5, 5,
                         5.5, 6, 7, 8, 8, 6.5, 4.5])
HOUR_SHARES = _HOUR_SHARES / _HOUR_SHARES.sum()
HOUR_CLICK_EFFECT = 0.15 * np.sin((np.arange(24) - 14) / 24 * 2 * np.pi)


class World:
    """Users and items of the simulated platform.

    Attributes (n_u users, n_i items, K topics):
      user_interest: [n_u, K] float, drifts daily.
      user_activity: [n_u] float, relative impression rate (log-normal, heavy-tailed).
      user_propensity, user_patience: [n_u] float, per-user click / watch biases.
      user_age, user_gender: [n_u] int indices into the contract's vocabularies.
      item_topic: [n_i] int primary topic; item_category: [n_i] int (noisy copy of it).
      item_vector: [n_i, K] float topic loading.
      item_appeal, item_quality: [n_i] float latent traits (N(0, 1)).
      item_length_s: [n_i] float video length in seconds.
      item_tags: [n_i] object, '|'-joined tag ids.
      item_log_pop: [n_i] float log popularity, drifts daily.
      item_release_day: [n_i] int first day the item can be shown.
    """

    def __init__(self, config: SimulatorConfig, seed: int):
        self.config = config
        c = config
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
        k = c.n_topics
        # users
        self.user_age = rng.choice(len(_AGE_SHARES), size=c.n_users, p=_AGE_SHARES)
        self.user_gender = rng.choice(len(_GENDER_SHARES), size=c.n_users, p=_GENDER_SHARES)
        age_taste = rng.normal(0.0, 0.7, size=(len(_AGE_SHARES), k))
        self.user_interest = rng.normal(0.0, 1.0, size=(c.n_users, k)) + age_taste[self.user_age]
        self.user_activity = rng.lognormal(0.0, c.user_activity_sigma, size=c.n_users)
        self.user_propensity = rng.normal(0.0, c.user_click_propensity_sigma, size=c.n_users)
        self.user_patience = rng.normal(0.0, c.user_patience_sigma, size=c.n_users)
        # items
        self.item_topic = rng.integers(0, k, size=c.n_items)
        noisy = rng.random(c.n_items) < c.category_noise
        self.item_category = np.where(noisy, rng.integers(0, k, size=c.n_items), self.item_topic)
        self.item_vector = rng.normal(0.0, 0.3, size=(c.n_items, k))
        self.item_vector[np.arange(c.n_items), self.item_topic] += 1.0
        self.item_appeal = rng.normal(0.0, 1.0, size=c.n_items)
        self.item_quality = rng.normal(0.0, 1.0, size=c.n_items)
        self.item_length_s = np.clip(
            rng.lognormal(np.log(c.median_video_length_s), c.video_length_sigma, size=c.n_items),
            5.0, 3600.0).round(1)
        self.item_tags = self._draw_tags(rng)
        ranks = rng.permutation(c.n_items) + 1
        self.item_log_pop = -c.zipf_exponent * np.log(ranks + c.zipf_offset)  # Zipf-Mandelbrot
        n_new = int(c.new_item_share * c.n_items)
        self.item_release_day = np.zeros(c.n_items, dtype=np.int64)
        if n_new:
            # Release days do not depend on how many days are simulated, so day d of a short
            # run equals day d of a longer one with the same seed.
            new_items = rng.choice(c.n_items, size=n_new, replace=False)
            self.item_release_day[new_items] = rng.integers(1, c.release_horizon_days + 1, n_new)
        # Normalise affinity to unit variance so the weights in the config are comparable.
        sample = rng.integers(0, c.n_users, 4096), rng.integers(0, c.n_items, 4096)
        self._affinity_scale = 1.0 / max(np.std(self.affinity(*sample)), 1e-6)

    def _draw_tags(self, rng: np.random.Generator) -> np.ndarray:
        c = self.config
        per_topic = c.n_tags // c.n_topics
        n_tags = rng.integers(1, 6, size=c.n_items)
        own = self.item_topic[:, None] * per_topic + rng.integers(0, per_topic, (c.n_items, 5))
        generic = rng.integers(0, c.n_tags, size=(c.n_items, 5))
        tags = np.where(rng.random((c.n_items, 5)) < 0.8, own, generic)
        return np.array(["|".join(map(str, sorted(set(row[:n])))) for row, n in zip(tags, n_tags)],
                        dtype=object)

    def affinity(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Interest match of each (user, item) pair, [n] float, ~unit variance."""
        raw = np.einsum("nk,nk->n", self.user_interest[users], self.item_vector[items])
        return raw * getattr(self, "_affinity_scale", 1.0)

    def item_log_weights(self, day: int) -> np.ndarray:
        """Log sampling weight of each item on ``day``: -inf before release, boosted when fresh."""
        age = day - self.item_release_day
        fresh = np.log1p(self.config.freshness_boost * np.exp(-np.maximum(age, 0) / 3.0))
        fresh = np.where(self.item_release_day > 0, fresh, 0.0)
        return np.where(age >= 0, self.item_log_pop + fresh, -np.inf)

    def advance(self, rng: np.random.Generator) -> None:
        """Moves the world one day on: interest and popularity drift."""
        c = self.config
        rho = np.sqrt(1.0 - c.interest_drift ** 2)
        self.user_interest = rho * self.user_interest + c.interest_drift * rng.normal(
            0.0, 1.0, size=self.user_interest.shape)
        self.item_log_pop = self.item_log_pop + rng.normal(0.0, c.popularity_drift, c.n_items)
