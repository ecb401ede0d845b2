"""The training recipe's epochs rule and loss curve (shared by lt4rec train and SparseTrainer)."""

import lt4rec  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)

from lt4rec.models.config import make_config
from lt4rec.models.recipe import final_epochs, loss_curve


def test_every_variant_trains_the_same_epochs_in_total():
    config = make_config("hard_share", {"trainer": {"epochs": 2},
                                        "pruning": {"warmup_epochs": 0.5}})
    assert final_epochs(config, sparse=True) == 2          # warm-up spent before the search
    assert final_epochs(config, sparse=False) == 2.5       # dense: warm-up + epochs straight
    assert final_epochs(config, sparse=False, warm_started=True) == 2


def test_loss_curve_averages_consecutive_windows():
    assert loss_curve([1, 3, 5, 7], points=2) == [2.0, 6.0]
    assert loss_curve([1, 2, 3], points=50) == [1.0, 2.0, 3.0]
    assert loss_curve([]) == []
