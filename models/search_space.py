"""The hyper-parameter search space of every variant family: ONE table of knobs.

A *knob* names a config field by its dotted path (``"trainer.learning_rate"``) and the values a
search may try. A variant searches the knobs of its families (``families_of``):

* ``any``: every variant (learning rate, loss weights a/b, width of the MLP);
* ``experts``: mixture-of-experts variants (``mmoe``, ``ple``): expert count, tower width;
* ``sparse``: sparse variants (S-Weight, S-Neuron): Algorithm 1's mask-search knobs.

Rules (``declare_space``):

* a knob whose field the config does not have (e.g. a knob another branch adds) is skipped, so
  the table may list knobs before their fields exist;
* a knob the variant's preset sets (``models.config.VARIANTS``) is *what makes the variant*
  (``shared_mlp``'s one round, ``sparse_weight_balance``'s loss weights, ``mmoe``'s expert
  sizes) and is not searched;
* each knob's default is the config's current value (added to the choices or the range when
  outside them), so trial 0 of a search (``models.tuning``: defaults first) is the variant as
  configured.

``scale`` knobs multiply a tuple of layer sizes (``model.hidden_units`` x 0.5 keeps the depth
and halves each width); the hyper-parameter is named ``<path>.scale`` and holds the factor.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from lt4rec.models.config import VARIANTS, LT4RecConfig, make_config

ANY, EXPERTS, SPARSE = "any", "experts", "sparse"
KINDS = ("float", "int", "choice", "scale")
EXPERT_SHARINGS = ("mmoe", "ple")
SCALE_SUFFIX = ".scale"


@dataclasses.dataclass(frozen=True)
class Knob:
    """One searchable config field.

    Attributes:
      path: ``section.field`` of ``LT4RecConfig``.
      families: the variant families that search it (``any``, ``experts``, ``sparse``).
      kind: ``float`` / ``int`` (range ``low``..``high``, ``log`` sampling), ``choice``
        (``values``) or ``scale`` (factors in ``values`` applied to a tuple of sizes).
      none_default_from: for a field whose ``None`` means "use another field" (e.g. the
        rounds' learning rate), the path whose value stands in as the default.
    """
    path: str
    families: Tuple[str, ...]
    kind: str
    values: Tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    none_default_from: str = ""

    @property
    def name(self) -> str:
        """The hyper-parameter's name in KerasTuner (and in best-hyper-parameter files)."""
        return self.path + (SCALE_SUFFIX if self.kind == "scale" else "")


KNOBS: Tuple[Knob, ...] = (
    Knob("trainer.learning_rate", (ANY,), "float", low=3e-4, high=1e-2, log=True),
    # a/b from 0.15 to 2 (median ~0.55): alternate mode scales each task's learning rate by
    # its weight / the larger weight, and a CTR weight far below the CVR one starves the CTR
    # task within the epoch budget (most such trials fail the CTR AUC guard).
    Knob("loss.ctr_weight", (ANY,), "float", low=0.3, high=1.0, log=True),
    Knob("loss.cvr_weight", (ANY,), "float", low=0.5, high=2.0, log=True),
    Knob("model.hidden_units", (ANY,), "scale", values=(0.5, 1.0, 2.0)),
    Knob("model.tower_units", (EXPERTS,), "scale", values=(0.5, 1.0, 2.0)),
    Knob("model.num_experts", (EXPERTS,), "choice", values=(2, 4, 8)),
    Knob("pruning.warmup_epochs", (SPARSE,), "choice", values=(0.5, 1.0, 2.0)),
    Knob("pruning.rounds", (SPARSE,), "int", low=2, high=6),
    Knob("pruning.q", (SPARSE,), "float", low=0.1, high=0.4),
    Knob("pruning.scope", (SPARSE,), "choice", values=("layer", "global")),
    Knob("pruning.min_sparsity", (SPARSE,), "choice", values=(0.0, 0.2, 0.4)),
    Knob("pruning.tolerance", (SPARSE,), "choice", values=(0.0, 0.002, 0.005, 0.01)),
    Knob("pruning.round_epochs", (SPARSE,), "choice", values=(0.5, 1.0, 2.0)),
    Knob("pruning.round_learning_rate", (SPARSE,), "float", low=3e-4, high=1e-2, log=True,
         none_default_from="trainer.learning_rate"),
    Knob("pruning.importance", (SPARSE,), "choice", values=("magnitude", "movement")),
    Knob("pruning.pick", (SPARSE,), "choice", values=("sparsest_within_tolerance", "best")),
)


def families_of(config: LT4RecConfig) -> Tuple[str, ...]:
    """The knob families a config searches (always ``any``)."""
    out = [ANY]
    if config.model.sharing in EXPERT_SHARINGS:
        out.append(EXPERTS)
    if config.model.is_sparse:
        out.append(SPARSE)
    return tuple(out)


def _field(config: LT4RecConfig, path: str) -> Tuple[bool, Any]:
    """(exists, value) of a dotted config path."""
    section, _, field = path.partition(".")
    part = getattr(config, section, None)
    if part is None or field not in {f.name for f in dataclasses.fields(part)}:
        return False, None
    return True, getattr(part, field)


def _preset_paths(variant: str) -> set:
    return {f"{section}.{field}" for section, fields in VARIANTS.get(variant, {}).items()
            for field in fields}


def knobs_for(config: LT4RecConfig, only: Optional[Iterable[str]] = None) -> List[Knob]:
    """The knobs ``config``'s variant searches (see the module rules).

    Args:
      only: restrict to these knob names or paths (None: all of the variant's knobs).
    Raises:
      ValueError: ``only`` names a knob the table does not have.
    """
    wanted = set(only) if only is not None else None
    if wanted is not None:
        unknown = sorted(wanted - {k.name for k in KNOBS} - {k.path for k in KNOBS})
        if unknown:
            raise ValueError(f"unknown knob(s) {unknown}; known: {[k.name for k in KNOBS]}")
    families, pinned = families_of(config), _preset_paths(config.variant)
    return [k for k in KNOBS
            if set(k.families) & set(families) and k.path not in pinned
            and _field(config, k.path)[0]
            and (wanted is None or k.name in wanted or k.path in wanted)
            and _default(config, k) is not None]


def _default(config: LT4RecConfig, knob: Knob):
    value = _field(config, knob.path)[1]
    if knob.kind == "scale":
        return 1.0
    if value is None and knob.none_default_from:
        value = _field(config, knob.none_default_from)[1]
    return value


def declare_space(hp, config: LT4RecConfig, only: Optional[Iterable[str]] = None) -> List[Knob]:
    """Declares ``config``'s knobs in a ``keras_tuner.HyperParameters``; returns them.

    Every hyper-parameter's default is the config's current value.
    """
    knobs = knobs_for(config, only)
    for knob in knobs:
        default = _default(config, knob)
        if knob.kind in ("choice", "scale"):
            values = list(knob.values) + ([default] if default not in knob.values else [])
            hp.Choice(knob.name, values, default=default)
        elif knob.kind == "int":
            hp.Int(knob.name, int(min(knob.low, default)), int(max(knob.high, default)),
                   default=int(default))
        else:
            hp.Float(knob.name, min(knob.low, default), max(knob.high, default),
                     sampling="log" if knob.log else "linear", default=float(default))
    return knobs


def overrides_from_values(config: LT4RecConfig, values: Dict[str, Any]) -> Dict[str, Dict]:
    """Nested config overrides (``--config`` file format) of hyper-parameter values.

    Scale factors are resolved against ``config`` (the config the search started from), so the
    result holds concrete sizes: ``{"model": {"hidden_units": [32, 16]}}``.

    Raises:
      ValueError: a value names no knob of the table, or a field the config lacks.
    """
    by_name = {k.name: k for k in KNOBS}
    out: Dict[str, Dict] = {}
    for name, value in sorted(values.items()):
        knob = by_name.get(name)
        exists, current = _field(config, knob.path) if knob else (False, None)
        if not exists:
            raise ValueError(f"hyper-parameter {name!r} names no config field of this version; "
                             f"known knobs: {sorted(by_name)}")
        if current is None and knob.none_default_from and value == _default(config, knob):
            continue  # the field's "same as none_default_from" default: keep it None
        if knob.kind == "scale":
            value = [max(1, int(round(u * float(value)))) for u in current]
        section, _, field = knob.path.partition(".")
        out.setdefault(section, {})[field] = value
    return out


def merge_overrides(base: Optional[Dict], top: Optional[Dict]) -> Dict:
    """Section-wise merge of two override dicts; ``top`` wins field by field."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in (base or {}).items()}
    for section, fields in (top or {}).items():
        if isinstance(fields, dict) and isinstance(out.get(section), dict):
            out[section].update(fields)
        else:
            out[section] = fields
    return out


def apply_values(config: LT4RecConfig, values: Dict[str, Any]) -> LT4RecConfig:
    """``config`` with hyper-parameter values overlaid (the tuned config of a variant).

    Args:
      config: the variant's config the search started from.
      values: hyper-parameter name -> value (a trial's or the best ones).
    Raises:
      ValueError: an unknown hyper-parameter, or a value the config rejects.
    """
    full = config.to_dict()
    full.pop("variant")
    return make_config(config.variant, merge_overrides(full, overrides_from_values(config,
                                                                                   values)))


def describe(knobs: Sequence[Knob]) -> List[Dict[str, Any]]:
    """JSON-able description of knobs (for reports)."""
    return [{"name": k.name, "kind": k.kind, "values": list(k.values) or None,
             "range": [k.low, k.high] if k.kind in ("float", "int") else None, "log": k.log}
            for k in knobs]
