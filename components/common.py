"""Helpers shared by LT4REC's custom component executors."""

import json
from typing import Optional

from models.config import LT4RecConfig, make_config
from models.data import Split
from models.example_io import split_from_examples

TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"


def config_of(variant: str, config_json: Optional[str]) -> LT4RecConfig:
    """The run's typed config from the component's execution parameters."""
    return make_config(variant, json.loads(config_json) if config_json else None)


def model_fingerprint(config: LT4RecConfig) -> str:
    """What must match for masks/weights to be reusable: features and architecture."""
    return json.dumps({"features": config.to_dict()["features"],
                       "model": config.to_dict()["model"]}, sort_keys=True)


def load_splits(examples_uri: str, span_label: str):
    """(train, eval) ``Split``s of an Examples artifact."""
    train: Split = split_from_examples(examples_uri, TRAIN_SPLIT, "train", [span_label])
    evaluation: Split = split_from_examples(examples_uri, EVAL_SPLIT, "validation", [span_label])
    return train, evaluation
