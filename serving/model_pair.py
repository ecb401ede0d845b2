"""The pCTR and pCVR models in one TensorFlow call: a fused function per pair of versions.

A rank request needs both models on the same columns. Called one by one, each call pays
TensorFlow's Python-side cost of a signature call (argument structuring, conversion, output
packing) and a thread hand-off; at a few hundred candidates that is as much as the models'
own compute. ``fuse`` builds, once per version pair, one ``tf.function`` that calls both
models' raw-feature signatures (``serving_raw``) on the same inputs and returns both
outputs; TensorFlow runs the two graphs in one call, in parallel over its inter-op threads.

``PairCache`` is a ``ModelRegistry`` observer: after each publish it fuses the newest pCTR
and pCVR versions and warms the result (in the poller's thread, before health says
SERVING and before the heap is frozen), so a request never traces. A request whose models
are not that pair (one that fetched its models just before a swap), or models that cannot
be fused (signatures that are not TensorFlow functions, or whose inputs differ), is scored
by the two signatures one by one (``LoadedModel.run``), with the same result.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Dict, FrozenSet, Optional, Tuple

import numpy as np

from lt4rec.serving.errors import ServingError
from lt4rec.serving.loaded_model import LoadedModel
from lt4rec.serving.model_registry import ModelRegistry

_LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ModelPair:
    """Two loaded models fused into one call (build with ``fuse``).

    Attributes:
      ctr, cvr: the pCTR and pCVR model versions; each output is named like its model.
      signature: the raw-feature signature both are called with.
      inputs: the signature's input names (the same for both models).
      function: concrete function {input: [N] tensor} -> ([N] pCTR, [N] pCVR).
    """
    ctr: LoadedModel
    cvr: LoadedModel
    signature: str
    inputs: FrozenSet[str]
    function: object = dataclasses.field(repr=False, compare=False)

    def holds(self, ctr: LoadedModel, cvr: LoadedModel) -> bool:
        """Whether this pair is exactly these two loaded versions."""
        return self.ctr is ctr and self.cvr is cvr

    def run(self, features: Dict[str, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        """Both models on ``features`` (numpy, keyed by input name); returns numpy outputs.

        Raises:
          InvalidRequest: an input is missing or not one of the signature's inputs.
          tf.errors.InvalidArgumentError: the models rejected the values.
        """
        import tensorflow as tf

        if features.keys() != self.inputs:
            self.ctr.check_inputs(self.signature, features)
        ctr, cvr = self.function({k: tf.constant(v) for k, v in features.items()})
        return ctr.numpy(), cvr.numpy()


def _warmup_inputs(specs) -> Dict[str, np.ndarray]:
    """One row per input: 1 for numbers, "" for strings (an empty id list, an unknown id)."""
    return {k: np.array([""] if s.dtype.name == "string" else [1], dtype=s.dtype.as_numpy_dtype)
            for k, s in specs.items()}


def fuse(ctr: LoadedModel, cvr: LoadedModel, signature: str) -> Optional[ModelPair]:
    """``ctr`` and ``cvr`` fused into one call on ``signature``, traced and warmed; None when
    they cannot be (see the module docstring): callers then call the two one by one."""
    import tensorflow as tf

    fns = [m.functions.get(signature) for m in (ctr, cvr)]
    if not all(isinstance(f, tf.types.experimental.ConcreteFunction) for f in fns):
        return None
    specs = [f.structured_input_signature[1] for f in fns]
    if specs[0].keys() != specs[1].keys():
        _LOG.warning("not fusing %s v%d and %s v%d: their %r inputs differ", ctr.name,
                     ctr.version, cvr.name, cvr.version, signature)
        return None

    @tf.function(input_signature=[specs[0]])
    def both(features):
        return fns[0](**features)[ctr.name], fns[1](**features)[cvr.name]

    try:
        pair = ModelPair(ctr, cvr, signature, frozenset(specs[0]), both.get_concrete_function())
        pair.run(_warmup_inputs(specs[0]))
    except Exception as err:  # noqa: BLE001  (the unfused calls still serve)
        _LOG.warning("not fusing %s v%d and %s v%d: %s: %s", ctr.name, ctr.version, cvr.name,
                     cvr.version, type(err).__name__, err)
        return None
    return pair


class PairCache:
    """The fused pair of the newest served versions, rebuilt after each publish.

    Args:
      registry: the models; register the cache first among its observers
        (``registry.observers.insert(0, cache)``) so the pair is ready before health says
        SERVING and before the heap is frozen.
      names: (pCTR model, pCVR model).
      signature: the raw-feature signature.
    """

    def __init__(self, registry: ModelRegistry, names: Tuple[str, str], signature: str):
        self._registry, self._names, self._signature = registry, names, signature
        self._pair: Optional[ModelPair] = None

    def get(self, ctr: LoadedModel, cvr: LoadedModel) -> Optional[ModelPair]:
        """The fused pair of exactly these versions, or None (call them one by one)."""
        pair = self._pair  # one read: swapped whole by the poller
        return pair if pair is not None and pair.holds(ctr, cvr) else None

    def on_publish(self, previous, served) -> None:
        """Fuses the newest versions (the registry's poller thread)."""
        try:
            ctr, cvr = (self._registry.get(name) for name in self._names)
        except ServingError:  # a model has no version yet: nothing to fuse
            self._pair = None
            return
        if self._pair is None or not self._pair.holds(ctr, cvr):
            self._pair = None  # the old pair must not keep replaced versions alive
            self._pair = fuse(ctr, cvr, self._signature)

    def on_load_failure(self, model: str, version: int, error: str) -> None:
        """A failed load publishes nothing: the pair stays."""
