"""Resolver strategies of the daily pipeline."""

from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy)
from tfx.types import standard_artifacts

from lt4rec.components.common import SPAN_PROPERTY  # noqa: F401  (re-exported)


class LatestBlessedModelBeforeSpan(LatestBlessedModelStrategy):
    """The latest blessed Model trained on a span *earlier* than ``before_span``.

    The day's warm start and evaluation baseline. Restricting it to earlier spans keeps a
    re-run of a finished day's inputs identical (so TFX's cache answers it), and keeps a
    backfill of an old day from warm-starting on its own future. ``before_span`` < 0 turns
    the filter off (plain latest blessed model).
    """

    def __init__(self, before_span: int = -1):
        self._before_span = before_span

    def resolve_artifacts(self, store, input_dict):
        if self._before_span >= 0:
            for key, artifacts in input_dict.items():
                if artifacts and isinstance(artifacts[0], standard_artifacts.Model):
                    input_dict[key] = [
                        a for a in artifacts if a.has_custom_property(SPAN_PROPERTY)
                        and a.get_int_custom_property(SPAN_PROPERTY) < self._before_span]
        return super().resolve_artifacts(store, input_dict)


class LatestArtifactBeforeSpan(resolver.ResolverStrategy):
    """Per channel, the newest artifact made for a span earlier than ``before_span``.

    MaskGen's ``previous_masks``: today's run reuses the masks of an earlier day, and a
    re-run of a finished day sees exactly the inputs it saw the first time.
    """

    def __init__(self, before_span: int = -1):
        self._before_span = before_span

    def resolve_artifacts(self, store, input_dict):
        out = {}
        for key, artifacts in input_dict.items():
            eligible = [a for a in artifacts if self._before_span < 0 or (
                a.has_custom_property(SPAN_PROPERTY)
                and a.get_int_custom_property(SPAN_PROPERTY) < self._before_span)]
            out[key] = [max(eligible, key=lambda a: a.id)] if eligible else []
        return out
