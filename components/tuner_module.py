"""TFX Tuner's module: ``tuner_fn`` runs ``models.tuning``'s search on the pipeline's splits.

The Tuner component (``tfx.components.Tuner(tuner_fn="lt4rec.components.tuner_module.tuner_fn",
...)``, wired by ``pipeline.pipeline`` when tuning is on) calls ``tuner_fn`` with the day's
Transform outputs: the ``train`` split trains every trial, the ``eval`` split scores it (the
split MaskGen selects pruning rounds on). The search is ``lt4rec tune``'s, with the same knobs,
objective and CTR AUC guard. The component writes ``best_hyperparameters.txt`` (KerasTuner's
``HyperParameters.get_config()``), which MaskGen and SparseTrainer overlay on their config
(``components.hyperparameters``).

``custom_config`` keys: ``variant``, ``config_json`` (the pipeline's model config), ``seed``,
and ``search`` (``models.tuning.SearchConfig`` as a dict).
"""

import os
from typing import List, Tuple

from tfx.components.tuner.component import TunerFnResult

from lt4rec.components.common import config_of
from lt4rec.models.example_io import split_from_examples, split_from_transformed
from lt4rec.models.tuning import SearchConfig, TuningSplits, make_tuner

SPLIT_PREFIX = "Split-"


def custom_config(variant: str, config_json, seed: int, search: SearchConfig) -> dict:
    """The Tuner component's ``custom_config`` (JSON-able)."""
    return {"variant": variant, "config_json": config_json, "seed": int(seed),
            "search": {"trials": search.trials, "oracle": search.oracle,
                       "auc_margin": search.auc_margin,
                       "knobs": list(search.knobs) if search.knobs else None}}


def _artifacts_and_split(patterns: List[str]) -> Tuple[List[str], str]:
    """Artifact URIs and split name of TFX file patterns ``URI/Split-NAME/*``."""
    dirs = [os.path.dirname(p) for p in patterns]
    names = {os.path.basename(d) for d in dirs}
    if len(names) != 1 or not next(iter(names)).startswith(SPLIT_PREFIX):
        raise ValueError(f"expected file patterns of one split (URI/{SPLIT_PREFIX}NAME/*). "
                         f"Received: {patterns}")
    return [os.path.dirname(d) for d in dirs], next(iter(names))[len(SPLIT_PREFIX):]


def _read_split(patterns: List[str], name: str, transform_graph_path):
    uris, split = _artifacts_and_split(patterns)
    if transform_graph_path:
        return split_from_transformed(uris, transform_graph_path, split, name, [])
    return split_from_examples(uris, split, name, [])


def tuner_fn(fn_args) -> TunerFnResult:
    """The search of the pipeline's variant on ``fn_args``' train and eval files.

    Args:
      fn_args: TFX's ``FnArgs`` (train_files, eval_files, transform_graph_path, working_dir,
        custom_config as ``custom_config`` returns it).
    Returns:
      ``TunerFnResult(tuner, fit_kwargs={"splits": TuningSplits(train, eval)})``.
    """
    custom = fn_args.custom_config or {}
    if "variant" not in custom:
        raise ValueError(f"the Tuner's custom_config needs `variant` (see "
                         f"components.tuner_module.custom_config). Received: {custom}")
    config = config_of(custom["variant"], custom.get("config_json"))
    search = SearchConfig(**{**custom.get("search", {}),
                             "knobs": tuple(custom.get("search", {}).get("knobs") or ()) or None})
    splits = TuningSplits(_read_split(fn_args.train_files, "train", fn_args.transform_graph_path),
                          _read_split(fn_args.eval_files, "validation",
                                      fn_args.transform_graph_path))
    tuner = make_tuner(config, fn_args.working_dir, search.trials, int(custom.get("seed", 0)),
                       search.oracle, search.auc_margin, search.knobs, say=print)
    return TunerFnResult(tuner=tuner, fit_kwargs={"splits": splits})
