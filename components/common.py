"""Helpers shared by LT4REC's custom component executors."""

import functools
import json
from typing import Optional, Sequence, Tuple

from lt4rec.models.config import LT4RecConfig, make_config
from lt4rec.models.data import Split
from lt4rec.models.example_io import split_from_examples, split_from_transformed

SPAN_PROPERTY = "span"

TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"


def config_of(variant: str, config_json: Optional[str]) -> LT4RecConfig:
    """The run's typed config from the component's execution parameters."""
    return make_config(variant, json.loads(config_json) if config_json else None)


def model_fingerprint(config: LT4RecConfig) -> str:
    """What must match for masks/weights to be reusable: features and architecture."""
    return json.dumps({"features": config.to_dict()["features"],
                       "model": config.to_dict()["model"]}, sort_keys=True)


def load_splits(input_dict) -> Tuple[Split, Split, int]:
    """(train, eval, latest span) of a component's ``examples`` (one or more days).

    When Transform's ``transformed_examples`` and ``transform_graph`` are inputs too, the
    splits hold the transformed features (Transform ran over exactly the ``examples``
    artifacts, which still give the spans: TFX does not copy them onto its outputs).
    """
    examples = input_dict["examples"]
    spans = sorted(a.get_int_custom_property(SPAN_PROPERTY) for a in examples)
    labels = [str(s) for s in spans]
    transformed = input_dict.get("transformed_examples") or []
    graph = input_dict.get("transform_graph") or []
    if transformed and graph:
        uris = [a.uri for a in transformed]
        read = functools.partial(split_from_transformed, uris, graph[-1].uri)
    else:
        read = functools.partial(split_from_examples, [a.uri for a in examples])
    train = read(TRAIN_SPLIT, "train", labels)
    evaluation = read(EVAL_SPLIT, "validation", labels)
    return train, evaluation, spans[-1]


def transform_output(input_dict):
    """The ``tft.TFTransformOutput`` of the ``transform_graph`` input, or None."""
    graph = input_dict.get("transform_graph") or []
    if not graph:
        return None
    import tensorflow_transform as tft
    return tft.TFTransformOutput(graph[-1].uri)
