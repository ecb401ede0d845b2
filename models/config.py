"""Typed hyper-parameters of the model family: the one place a knob is defined.

A *variant* is a preset of these configs (``VARIANTS``), never a class of its own: the model in
``models/ranker.py`` branches once on ``ModelConfig.sharing``. Users override any field from a
JSON file (``load_config``) whose keys mirror the dataclasses, e.g.
``{"model": {"hidden_units": [512, 256, 128]}, "pruning": {"rounds": 6}}``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Optional, Tuple

SHARINGS = ("none", "hard", "sparse_weight", "sparse_neuron", "mmoe", "ple")
CVR_LOSSES = ("mse", "bce")
SCHEDULES = ("geometric", "polynomial", "constant")
PRUNE_SCOPES = ("layer", "global")
# Which round Algorithm 1 keeps; "sparsest_within_tolerance" is the papers' reading (default).
PICK_RULES = ("sparsest_within_tolerance", "best", "fixed")
# What pruning ranks; "magnitude" (trained |w|) is the papers' criterion, the rest depart.
IMPORTANCES = ("magnitude", "movement", "magnitude_times_movement")
TRAIN_MODES = ("alternate", "joint")
DISTRIBUTIONS = ("default", "mirrored", "tpu", "multi_worker")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_choice(name: str, value, choices) -> None:
    _check(value in choices, f"`{name}` must be one of {choices}. Received: {name}={value!r}")


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """How raw log columns become embeddings (see ``models/features.py``).

    Attributes:
      embedding_dim: D, size of every field embedding.
      user_buckets, item_buckets, category_buckets, tag_buckets: hash buckets of the
        high-cardinality integer ids (user, item, item category, item tags).
      video_length_boundaries_s: bucket edges of video length (its own field embedding).
      max_list_length: list columns keep their first this many elements (recent clicks are
        newest first); see ``models/preprocess.py``.
    """
    embedding_dim: int = 16
    user_buckets: int = 100_003
    item_buckets: int = 50_021
    category_buckets: int = 1_009
    tag_buckets: int = 4_001
    video_length_boundaries_s: Tuple[float, ...] = (10, 20, 30, 60, 120, 180, 300, 600, 1200,
                                                    2400)
    max_list_length: int = 32

    def __post_init__(self):
        _check(self.max_list_length >= 1, f"`max_list_length` must be >= 1. Received: "
                                          f"max_list_length={self.max_list_length}")
        _check(self.embedding_dim >= 1, f"`embedding_dim` must be >= 1. Received: "
                                        f"embedding_dim={self.embedding_dim}")
        for name in ("user_buckets", "item_buckets", "category_buckets", "tag_buckets"):
            _check(getattr(self, name) >= 2,
                   f"`{name}` must be >= 2. Received: {name}={getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture.

    Attributes:
      sharing: ``none`` (SingleTask: separate embeddings and MLPs), ``hard`` (LayerShare: shared
        embeddings and cross, separate MLP towers), ``sparse_weight`` (S-Weight: one shared MLP,
        a weight mask per task), ``sparse_neuron`` (S-Neuron: one shared MLP, a neuron mask per
        task), ``mmoe`` (shared embeddings, ``num_experts`` expert MLPs, a softmax gate and a
        tower per task), ``ple`` (Progressive Layered Extraction, Tang et al. RecSys 2020:
        ``extraction_levels`` levels, each with ``num_shared_experts`` shared and
        ``num_task_experts`` per-task expert MLPs; task t's gate mixes its own and the shared
        experts, a shared gate mixes all experts for the next level; then a tower per task).
      esmm: train CVR through pCTCVR = pCTR * pCVR on every impression (ESMM) instead of on
        clicked impressions only.
      hidden_units: the MLP (sNET) layer sizes; for mmoe and ple, each expert's sizes.
      tower_units: per-task tower after the experts (mmoe and ple).
      num_experts: mmoe's number of shared experts.
      num_shared_experts, num_task_experts, extraction_levels: ple's experts per level (shared,
        and per task) and its number of extraction levels.
      multiview_dim: extra embedding dims per field that only the CVR task sees (0 = off).
    """
    sharing: str = "sparse_weight"
    esmm: bool = False
    hidden_units: Tuple[int, ...] = (256, 128, 64)
    activation: str = "relu"
    num_experts: int = 4
    num_shared_experts: int = 2
    num_task_experts: int = 2
    extraction_levels: int = 2
    tower_units: Tuple[int, ...] = (32,)
    multiview_dim: int = 0
    cross: bool = True

    def __post_init__(self):
        _check_choice("sharing", self.sharing, SHARINGS)
        _check(len(self.hidden_units) >= 1 and all(u >= 1 for u in self.hidden_units),
               f"`hidden_units` must be positive sizes. Received: hidden_units={self.hidden_units}")
        _check(self.num_experts >= 1, f"`num_experts` must be >= 1. Received: {self.num_experts}")
        for name in ("num_shared_experts", "num_task_experts", "extraction_levels"):
            _check(getattr(self, name) >= 1,
                   f"`{name}` must be >= 1. Received: {name}={getattr(self, name)}")
        _check(self.multiview_dim >= 0, f"`multiview_dim` must be >= 0. Received: "
                                        f"{self.multiview_dim}")

    @property
    def is_sparse(self) -> bool:
        return self.sharing in ("sparse_weight", "sparse_neuron")


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """``loss = ctr_weight * L_ctr + cvr_weight * L_cvr`` (Eq. 2), with the tuning knobs.

    Attributes:
      cvr_loss: ``mse`` or ``bce`` (soft-label log loss on the watch ratio).
      conflict_weight: gradient-conflict knob: weight of the CVR loss on clicked impressions
        whose watch ratio is below ``conflict_ratio`` (clicked but barely watched); 1 = off.
    """
    ctr_weight: float = 1.0
    cvr_weight: float = 1.0
    cvr_loss: str = "mse"
    conflict_weight: float = 1.0
    conflict_ratio: float = 0.1

    def __post_init__(self):
        _check_choice("cvr_loss", self.cvr_loss, CVR_LOSSES)
        _check(self.ctr_weight >= 0 and self.cvr_weight >= 0 and self.conflict_weight >= 0,
               f"loss weights must be >= 0. Received: {self}")


@dataclasses.dataclass(frozen=True)
class PruningConfig:
    """Algorithm 1's mask search (sparse variants only).

    Every knob defaults to the papers' choice (or, where the papers are silent, to what this
    project has always done); ``departures_from_papers`` lists the settings that depart from
    the papers' method, and experiment reports carry that list.

    Attributes:
      warmup_epochs: epochs of mixed CTR/CVR training that produce theta (may be fractional).
      rounds: n pruning rounds per task; round 0 trains the unpruned net.
      round_epochs: epochs of the task's own samples trained from theta in each round (may be
        fractional; papers: 1).
      round_learning_rate: the learning rate of each round's fresh Adam (None: the trainer's
        ``learning_rate``, as the papers; loss weights still scale it in alternate mode).
      schedule: per-round sparsity, a tfmot ``PruningSchedule`` evaluated at step = round:
        ``geometric`` (prune the ``q``-quantile of the remaining weights each round:
        s_r = 1 - (1 - q)^r), ``polynomial`` (tfmot ``PolynomialDecay`` from 0 to
        ``final_sparsity`` over the rounds), ``constant`` (tfmot ``ConstantSparsity`` at
        ``final_sparsity`` from round 1).
      scope: rank |weights| within each layer (``layer``) or across all layers (``global``).
      tolerance: relative tolerance of the ``sparsest_within_tolerance`` pick (e.g. 0.005 =
        0.5%).
      min_sparsity: the pick must be at least this sparse when any round is (the first paper
        keeps a pruned CTR mask although its unpruned round scored best).
      pick: which round each task keeps: ``sparsest_within_tolerance`` (default: the sparsest
        round whose validation metric is within ``tolerance`` of the best, the papers'
        reading of their curves), ``best`` (the best validation metric; ``min_sparsity``
        still applies) or ``fixed`` (round ``pick_round`` for both tasks, no selection).
      pick_round: the round kept by ``pick = "fixed"`` (0 = unpruned; < ``rounds``).
      importance: what pruning ranks among a task's kept weights (neuron masks: the RMS over
        a unit's incoming weights): ``magnitude`` = |w_trained| after the round (the papers),
        ``movement`` = |w_trained - theta|, how far the task's own round moved the weight
        (**a departure from the papers**: theta is the same for both tasks, so trained
        magnitudes mostly rank theta and both tasks keep nearly the same weights; movement
        ranks what each task itself learned), ``magnitude_times_movement`` = the product
        (**a departure** too).
    """
    warmup_epochs: float = 1.0
    rounds: int = 5
    schedule: str = "geometric"
    q: float = 0.2
    final_sparsity: float = 0.6
    scope: str = "layer"
    tolerance: float = 0.005
    min_sparsity: float = 0.0
    round_epochs: float = 1.0
    round_learning_rate: Optional[float] = None
    pick: str = "sparsest_within_tolerance"
    pick_round: int = 0
    importance: str = "magnitude"

    def __post_init__(self):
        _check(self.rounds >= 1, f"`rounds` must be >= 1. Received: rounds={self.rounds}")
        _check(self.round_epochs > 0, f"`round_epochs` must be > 0. Received: "
                                      f"round_epochs={self.round_epochs}")
        _check(self.round_learning_rate is None or self.round_learning_rate > 0,
               f"`round_learning_rate` must be > 0 or null. Received: "
               f"round_learning_rate={self.round_learning_rate}")
        _check_choice("pick", self.pick, PICK_RULES)
        _check(0 <= self.pick_round < self.rounds, f"`pick_round` must be in [0, rounds="
                                                   f"{self.rounds}). Received: "
                                                   f"pick_round={self.pick_round}")
        _check_choice("importance", self.importance, IMPORTANCES)
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_choice("scope", self.scope, PRUNE_SCOPES)
        _check(0.0 < self.q < 1.0, f"`q` must be in (0, 1). Received: q={self.q}")
        _check(0.0 <= self.final_sparsity < 1.0, f"`final_sparsity` must be in [0, 1). "
                                                 f"Received: {self.final_sparsity}")
        _check(self.tolerance >= 0, f"`tolerance` must be >= 0. Received: {self.tolerance}")
        _check(0.0 <= self.min_sparsity < 1.0, f"`min_sparsity` must be in [0, 1). "
                                               f"Received: {self.min_sparsity}")

    @property
    def departures_from_papers(self) -> List[str]:
        """Settings of this search that depart from the papers' method, in words."""
        out = []
        if self.importance != "magnitude":
            out.append(f"pruning.importance={self.importance!r}: prunes by "
                       + ("|w_trained - theta| (movement)" if self.importance == "movement"
                          else "|w_trained| * |w_trained - theta|")
                       + " instead of the papers' trained magnitude |w_trained|")
        return out


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    """Optimisation and data splits.

    Attributes:
      mode: ``alternate`` (each step is one task's batch through that task's mask, with that
        task's own optimizer) or ``joint`` (each step sums both tasks' losses on one mixed
        batch); see ``models/training.py``.
      epochs: epochs of final (joint) training from theta.
      validation_days, test_days: the last ``test_days`` days are test, the
        ``validation_days`` before them validation, the rest training (the papers: last day
        = test).
      effective_view_ratio: CTCVR's positive label is click and watch ratio >= this.
      distribution: ``default`` (one device), ``mirrored`` (all local GPUs, MirroredStrategy),
        ``tpu`` (TPUStrategy on ``tpu_address``), ``multi_worker``
        (MultiWorkerMirroredStrategy, cluster from ``TF_CONFIG``); see models/distribution.py.
    """
    mode: str = "alternate"
    batch_size: int = 1024
    epochs: int = 1
    learning_rate: float = 1e-3
    validation_days: int = 1
    test_days: int = 1
    effective_view_ratio: float = 0.5
    eval_batch_size: int = 8192
    distribution: str = "default"
    tpu_address: str = ""

    def __post_init__(self):
        _check_choice("distribution", self.distribution, DISTRIBUTIONS)
        _check_choice("mode", self.mode, TRAIN_MODES)
        _check(self.batch_size >= 1 and self.epochs >= 0 and self.learning_rate > 0,
               f"batch_size >= 1, epochs >= 0, learning_rate > 0 expected. Received: {self}")
        _check(self.validation_days >= 1 and self.test_days >= 1,
               f"validation_days and test_days must be >= 1. Received: {self}")


@dataclasses.dataclass(frozen=True)
class LT4RecConfig:
    """Everything one training run needs besides data, output dir and seed."""
    variant: str = "sparse_weight"
    features: FeatureConfig = FeatureConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    pruning: PruningConfig = PruningConfig()
    trainer: TrainerConfig = TrainerConfig()

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def departures_from_papers(self) -> List[str]:
        """This run's departures from the papers' method (empty for non-sparse variants)."""
        return self.pruning.departures_from_papers if self.model.is_sparse else []


# The papers' names -> what differs from the defaults. Tuning variants stack knobs.
VARIANTS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "single_task": {"model": {"sharing": "none"}},
    "hard_share": {"model": {"sharing": "hard"}},
    "sparse_weight": {"model": {"sharing": "sparse_weight"}},
    "sparse_neuron": {"model": {"sharing": "sparse_neuron"}},
    # sNET fully shared by both tasks (all-ones masks): hard sharing of the whole MLP.
    "shared_mlp": {"model": {"sharing": "sparse_weight"}, "pruning": {"rounds": 1}},
    "mmoe": {"model": {"sharing": "mmoe", "hidden_units": (128, 64)}},
    "esmm": {"model": {"sharing": "hard", "esmm": True}},
    "sparse_weight_balance": {"model": {"sharing": "sparse_weight"},
                              "loss": {"ctr_weight": 0.5, "cvr_weight": 1.0}},
    "sparse_weight_conflict": {"model": {"sharing": "sparse_weight"},
                               "loss": {"conflict_weight": 2.0}},
    "sparse_weight_multiview": {"model": {"sharing": "sparse_weight", "multiview_dim": 8}},
    "sparse_weight_big": {"model": {"sharing": "sparse_weight",
                                    "hidden_units": (512, 256, 128)}},
    # The papers' S-Weight-tuning: task balance and gradient conflict stacked.
    "sparse_weight_tuning": {"model": {"sharing": "sparse_weight"},
                             "loss": {"ctr_weight": 0.5, "cvr_weight": 1.0,
                                      "conflict_weight": 2.0}},
    # Progressive Layered Extraction (Tang et al., RecSys 2020), the MMoE successor.
    "ple": {"model": {"sharing": "ple", "hidden_units": (128, 64)}},
    # Issue 12's recommended S-Weight: the best of 16 equal-budget `lt4rec tune` trials of
    # sparse_weight on the regime study's base world (validation day only; values rounded to
    # 3 significant digits; docs/results/regime_study/). Papers' importance (magnitude); a
    # half-width sNET, task balance b/a = 2.2, a higher learning rate, two global pruning
    # rounds and the best round picked (no sparsity preference). Two rounds of q 0.199 reach
    # 19.9% sparsity, so min_sparsity 0.2 is never met and does nothing: each task keeps the
    # better of its dense round and its 19.9%-sparse one.
    "sparse_weight_tuned": {"model": {"sharing": "sparse_weight", "hidden_units": (128, 64, 32)},
                            "loss": {"ctr_weight": 0.668, "cvr_weight": 1.49},
                            "trainer": {"learning_rate": 0.00701},
                            "pruning": {"rounds": 2, "q": 0.199, "scope": "global",
                                        "min_sparsity": 0.2, "pick": "best", "tolerance": 0.0,
                                        "round_learning_rate": 0.00863}},
}


def _merge(cls, base, overrides: Dict[str, Any], where: str):
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - set(known))
    _check(not unknown, f"{where}: unknown setting(s) {unknown}; known: {sorted(known)}")
    values = {}
    for name, value in overrides.items():
        current = getattr(base, name)
        if dataclasses.is_dataclass(current):
            _check(isinstance(value, dict), f"{where}.{name} must be an object. Received: {value!r}")
            values[name] = _merge(type(current), current, value, f"{where}.{name}")
        elif isinstance(current, tuple) and isinstance(value, list):
            values[name] = tuple(value)
        else:
            values[name] = value
    return dataclasses.replace(base, **values)


def make_config(variant: str, overrides: Optional[Dict[str, Any]] = None) -> LT4RecConfig:
    """The config of a named variant, with optional nested overrides on top.

    Raises:
      ValueError: unknown variant or setting, or an invalid value (the message names it).
    """
    _check(variant in VARIANTS, f"unknown variant {variant!r}; known: {sorted(VARIANTS)}")
    config = _merge(LT4RecConfig, LT4RecConfig(variant=variant), VARIANTS[variant], "variant")
    if overrides:
        config = _merge(LT4RecConfig, config, overrides, "config")
    return config


def load_config(variant: str, path: Optional[str] = None) -> LT4RecConfig:
    """``make_config`` with overrides read from a JSON file (None: the variant's defaults)."""
    overrides = load_overrides(path)
    if not overrides:
        return make_config(variant)
    overrides.pop("variant", None)
    return make_config(variant, overrides)


def config_from_dict(data: Dict[str, Any]) -> LT4RecConfig:
    """Inverse of ``LT4RecConfig.to_dict`` (used to reload a trained run's config)."""
    data = dict(data)
    return _merge(LT4RecConfig, LT4RecConfig(variant=data.pop("variant")), data, "config")

def load_overrides(path: Optional[str]) -> Optional[dict]:
    """The JSON object of model config overrides in ``path`` (None: no file, no overrides).

    Raises:
      ValueError: the file is not a JSON object.
    """
    if not path:
        return None
    with open(path, encoding="utf-8") as fh:
        overrides = json.load(fh)
    if not isinstance(overrides, dict):
        raise ValueError(f"{path}: model config overrides must be a JSON object. Received: "
                         f"{type(overrides).__name__}")
    return overrides
