"""Artifact types of LT4REC's custom components."""

from tfx import types


class Masks(types.Artifact):
    """Algorithm 1's output: theta (warm-up weights), per-task sNET masks, search records.

    Files: ``theta/`` (a TF checkpoint of every model weight at theta), ``masks.npz``
    (``<task>/<layer>`` -> 0/1 array), ``mask_search.json``, ``mask_statistics.json``,
    ``config.json`` (the model config the masks belong to), PNG plots.
    """
    TYPE_NAME = "lt4rec.Masks"  # <namespace>.<Title>, as Kubeflow v2 requires


class AcceptedStatistics(types.Artifact):
    """A day's statistics that passed the gates (``drift_gate.DriftGate``): the next day's
    drift baseline. Files: ``Split-<split>/FeatureStats.pb``; custom properties ``span``,
    ``day``."""
    TYPE_NAME = "lt4rec.AcceptedStatistics"
