"""Keras layers of the model family."""

from lt4rec.models.layers.cross import FeatureCross  # noqa: F401
from lt4rec.models.layers.masked_dense import MaskedDense, MaskedMLP  # noqa: F401
