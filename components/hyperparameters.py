"""The Tuner's ``best_hyperparameters`` as MaskGen and SparseTrainer read them.

TFX's Tuner writes ``best_hyperparameters.txt``: the JSON of KerasTuner's
``HyperParameters.get_config()`` (``{"space": [...], "values": {name: value}}``). The values are
knob values of ``models.search_space`` and are overlaid on the component's own config, the one
the search started from.
"""

import json
import os
from typing import Optional, Sequence

from lt4rec.models.config import LT4RecConfig
from lt4rec.models.search_space import apply_values

BEST_HYPERPARAMETERS_FILE = "best_hyperparameters.txt"


def best_values(artifacts: Optional[Sequence]) -> Optional[dict]:
    """The best hyper-parameter values of the latest HyperParameters artifact, or None.

    Raises:
      FileNotFoundError: the artifact holds no ``best_hyperparameters.txt``.
    """
    if not artifacts:
        return None
    path = os.path.join(artifacts[-1].uri, BEST_HYPERPARAMETERS_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"HyperParameters artifact {artifacts[-1].uri} holds no "
                                f"{BEST_HYPERPARAMETERS_FILE}")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)["values"]


def tuned(config: LT4RecConfig, artifacts: Optional[Sequence]) -> LT4RecConfig:
    """``config`` with the best hyper-parameters overlaid (unchanged without an artifact)."""
    values = best_values(artifacts)
    return config if values is None else apply_values(config, values)
