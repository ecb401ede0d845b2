"""MultiTaskRanker: its config round trip rebuilds the same model."""

import lt4rec  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)

import numpy as np
import pytest

from conftest import tiny_config
from lt4rec.models.ranker import MultiTaskRanker, build_model
from lt4rec.models.tasks import OUTPUT_NAMES


@pytest.mark.parametrize("variant", ["sparse_weight", "mmoe"])
def test_config_round_trip_rebuilds_a_model_with_the_same_outputs(tiny_dataset, variant):
    features = {k: v[:16] for k, v in tiny_dataset.train.features.items()}
    model = build_model(tiny_config(variant), features)
    clone = MultiTaskRanker.from_config(model.get_config())
    assert clone.config == model.config
    clone({k: v[:2] for k, v in features.items()})
    clone.set_weights(model.get_weights())
    for layer, twin in zip(model.masked_layers, clone.masked_layers):
        for t in range(2):
            np.testing.assert_array_equal(layer.task_mask(t), twin.task_mask(t))
    want, got = model(features), clone(features)
    for name in OUTPUT_NAMES:
        np.testing.assert_array_equal(got[name].numpy(), want[name].numpy())
