"""Keras layers of the model family."""

from models.layers.cross import FeatureCross  # noqa: F401
from models.layers.masked_dense import MaskedDense, MaskedMLP  # noqa: F401
