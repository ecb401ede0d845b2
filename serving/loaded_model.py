"""One loaded SavedModel version: its signatures, callable from any thread.

A ``LoadedModel`` is immutable once built; the registry swaps whole objects, so a request that
fetched one keeps a consistent model until it finishes, even if a newer version replaces it
meanwhile (the old object is freed when its last request drops it).
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Dict, Mapping

import numpy as np

from lt4rec.models.signatures import DEFAULT_SIGNATURE, SAVED_MODEL_FILE, read_signature_defs
from lt4rec.serving.errors import InvalidRequest, WrongSignature


@dataclasses.dataclass(frozen=True)
class LoadedModel:
    """A SavedModel version ready to serve.

    Attributes:
      name: model name as served (``pctr``, ``pcvr``).
      version: the version folder's number.
      path: the version folder.
      signature_defs: {signature name: tensorflow.SignatureDef} read from ``saved_model.pb``
        (method names included, which ``tf.saved_model.load`` does not keep).
      functions: {signature name: concrete function} of the loaded model.
      root: the loaded trackable object; kept so its functions' variables stay alive.
      load_seconds: wall time of loading plus warm-up.
    """
    name: str
    version: int
    path: str
    signature_defs: Mapping[str, object]
    functions: Mapping[str, object]
    root: object = dataclasses.field(default=None, repr=False, compare=False)
    load_seconds: float = 0.0

    def signature(self, name: str, method: str = "") -> object:
        """The SignatureDef ``name`` (default ``serving_default``), optionally of ``method``.

        Raises:
          WrongSignature: no such signature, or it has another method name.
        """
        name = name or DEFAULT_SIGNATURE
        sig = self.signature_defs.get(name)
        if sig is None:
            raise WrongSignature(
                f"Serving signature key {name!r} not found in model {self.name!r} version "
                f"{self.version}; it has: {', '.join(sorted(self.signature_defs))}")
        if method and sig.method_name != method:
            raise WrongSignature(
                f"signature {name!r} of model {self.name!r} has method {sig.method_name!r}; "
                f"this API needs {method!r}")
        return sig

    def check_inputs(self, signature_name: str, inputs) -> None:
        """Raises InvalidRequest unless ``inputs`` (names) are exactly the signature's inputs."""
        expected = set(self.signature(signature_name).inputs)
        if set(inputs) != expected:
            missing, extra = sorted(expected - set(inputs)), sorted(set(inputs) - expected)
            raise InvalidRequest(
                f"signature {signature_name or DEFAULT_SIGNATURE!r} of model {self.name!r} takes "
                f"inputs {sorted(expected)}; missing {missing}, unexpected {extra}")

    def run(self, signature_name: str, inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Calls a signature on numpy inputs keyed by its input names; returns numpy outputs.

        Raises:
          WrongSignature: no such signature.
          InvalidRequest: an input is missing or not one of the signature's inputs.
          tf.errors.InvalidArgumentError: the model rejected the values (e.g. an example
            lacks a required feature); servicers map it to INVALID_ARGUMENT.
        """
        import tensorflow as tf

        self.check_inputs(signature_name, inputs)
        fn = self.functions[signature_name or DEFAULT_SIGNATURE]
        out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in out.items()}


def load_model(name: str, version: int, path: str) -> LoadedModel:
    """Loads the SavedModel at ``path`` (``lt4rec.serving.warmup.load_and_warm`` also replays its
    warm-up records).

    Raises:
      FileNotFoundError: ``path`` holds no ``saved_model.pb``.
    """
    import tensorflow as tf

    if not os.path.exists(os.path.join(path, SAVED_MODEL_FILE)):
        raise FileNotFoundError(f"no {SAVED_MODEL_FILE} in {path}")
    started = time.perf_counter()
    loaded = tf.saved_model.load(path)
    model = LoadedModel(name, version, path, read_signature_defs(path),
                        dict(loaded.signatures), root=loaded)
    return dataclasses.replace(model, load_seconds=time.perf_counter() - started)
