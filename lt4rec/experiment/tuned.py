"""Tuned configs of ``lt4rec tune`` as the experiment reads them (``--tuned-dir``).

``lt4rec tune --out DIR`` writes each variant's best knobs to ``DIR/configs/VARIANT.json`` as
config overrides; an experiment layers them over its own ``--config`` overrides (the tuned
values win field by field). A variant without a file keeps its configured defaults, and the
experiment says which in ``report.json`` (``tuned_configs``).
"""

from __future__ import annotations

import json
import os
from typing import Dict, Optional, Sequence, Tuple

from lt4rec.models.search_space import merge_overrides

CONFIGS_DIR = "configs"
TUNED_FILE = "tuned_configs.json"  # under the experiment's OUT: variant -> file or null


def tuned_config_path(tuned_dir: str, variant: str) -> str:
    """DIR/configs/VARIANT.json."""
    return os.path.join(tuned_dir, CONFIGS_DIR, f"{variant}.json")


def variant_overrides(variants: Sequence[str], overrides: Optional[Dict],
                      tuned_dir: Optional[str]) -> Tuple[Dict[str, Optional[Dict]],
                                                         Dict[str, Optional[str]]]:
    """(variant -> overrides to make its config with, variant -> tuned file used or None).

    Raises:
      FileNotFoundError: ``tuned_dir`` is given but holds no ``configs/`` folder.
    """
    if tuned_dir and not os.path.isdir(os.path.join(tuned_dir, CONFIGS_DIR)):
        raise FileNotFoundError(f"--tuned-dir {tuned_dir} holds no {CONFIGS_DIR}/ folder "
                                f"(write one with `lt4rec tune --out {tuned_dir}`)")
    per_variant, sources = {}, {}
    for variant in variants:
        path = tuned_config_path(tuned_dir, variant) if tuned_dir else None
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                tuned = json.load(fh)
            tuned.pop("variant", None)
            per_variant[variant] = merge_overrides(overrides, tuned)
            sources[variant] = os.path.abspath(path)
        else:
            per_variant[variant] = overrides
            sources[variant] = None
    return per_variant, sources
