"""Helpers shared by LT4REC's custom component executors."""

import json
from typing import Optional, Sequence, Tuple

from models.config import LT4RecConfig, make_config
from models.data import Split
from models.example_io import split_from_examples

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


def load_splits(examples: Sequence) -> Tuple[Split, Split, int]:
    """(train, eval, latest span) of one or more Examples artifacts (a window of days)."""
    uris = [a.uri for a in examples]
    spans = sorted(a.get_int_custom_property(SPAN_PROPERTY) for a in examples)
    labels = [str(s) for s in spans]
    train = split_from_examples(uris, TRAIN_SPLIT, "train", labels)
    evaluation = split_from_examples(uris, EVAL_SPLIT, "validation", labels)
    return train, evaluation, spans[-1]
