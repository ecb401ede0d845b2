"""Which model versions are served: a file-system poller with atomic hot swap.

Layout (what DualPusher publishes and TF Serving reads): ``<root>/<name>/<version>/`` with a
``saved_model.pb``; a version is a folder named by an integer (hidden staging folders such as
``.tmp-123`` are ignored). Policy, as TF Serving's default ``latest { num_versions: N }`` with
its availability-preserving loader:

* the N newest versions on disk are wanted (N = ``keep_versions``, default 1);
* a wanted version is loaded fully (SavedModel + warm-up replay) *before* it is published, in
  the poller's thread, while requests keep using the current snapshot;
* publishing swaps one reference to a new immutable ``{name: {version: LoadedModel}}`` dict, so
  a request sees either the old or the new set, never a half-built one; a request that already
  holds a model finishes on it;
* versions no longer wanted are dropped from the snapshot only after a newer one is available;
  a version that fails to load is reported (GetModelStatus), not retried, and the previous one
  keeps serving; deleting the newest folder (a rollback) brings the previous version back.

``FreezeHeap`` (a registry observer the server adds) keeps Python's garbage collector off the
request path: a loaded TensorFlow model is several 100k Python objects, and a full collection
that scans them stalls every thread for 100s of ms (a p99 spike). After each publish it
(``freeze_heap``) collects once (freeing the dropped versions) and freezes what is alive
(``gc.freeze``), so later collections scan only the objects requests create.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from lt4rec.serving.errors import NotFound, Unavailable
from lt4rec.models.signatures import SAVED_MODEL_FILE
from lt4rec.serving.loaded_model import LoadedModel
from lt4rec.serving.warmup import load_and_warm

_LOG = logging.getLogger(__name__)

# TF Serving's ModelVersionStatus states (tensorflow_serving/apis/get_model_status.proto).
LOADING, AVAILABLE, END = "LOADING", "AVAILABLE", "END"


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    """One version's lifecycle state and, when loading failed, why."""
    version: int
    state: str
    error: str = ""


def freeze_heap() -> None:
    """Collects garbage once, then freezes every live object out of future collections (see
    the module docstring)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class FreezeHeap:
    """ModelRegistry observer: ``freeze_heap`` after each publish (see the module docstring)."""

    def on_publish(self, previous: Dict[str, List[int]], served: Dict[str, List[int]]) -> None:
        freeze_heap()

    def on_load_failure(self, model: str, version: int, error: str) -> None:
        """A failed load publishes nothing: nothing to collect."""


def versions_on_disk(model_dir: str) -> List[int]:
    """Integer-named version folders of ``model_dir`` holding a SavedModel, oldest first."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(v) for v in os.listdir(model_dir)
                  if v.isdigit() and os.path.exists(os.path.join(model_dir, v, SAVED_MODEL_FILE)))


class ModelRegistry:
    """Serves the newest versions of named models under ``root``; see the module docstring.

    Args:
      root: the serving root, holding one folder per model name.
      names: the models to serve.
      keep_versions: how many of the newest versions to keep loaded (>= 1).
      loader: ``(name, version, path) -> LoadedModel`` (tests swap in slow or failing ones).

    Attributes:
      observers: told, in the poller's thread, of each poll that changed what is served,
        ``on_publish(previous, served)`` with {name: versions}, and of each failed load,
        ``on_load_failure(name, version, error)`` (``FreezeHeap``; health and metrics,
        ``ops.Operations.observers``).
    """

    def __init__(self, root: str, names: Sequence[str], keep_versions: int = 1,
                 loader: Callable[[str, int, str], LoadedModel] = load_and_warm):
        if keep_versions < 1:
            raise ValueError(f"`keep_versions` must be >= 1. Received: keep_versions={keep_versions}")
        self.root, self.names, self.keep_versions = root, tuple(names), keep_versions
        self._loader = loader
        self._snapshot: Dict[str, Dict[int, LoadedModel]] = {n: {} for n in self.names}
        self._status: Dict[Tuple[str, int], VersionStatus] = {}
        self._failed: set = set()
        self._poll_lock = threading.Lock()  # one poll at a time; readers never take it
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.observers: list = []

    # -- reading (any thread, lock-free) ------------------------------------------------------
    def get(self, name: str, version: Optional[int] = None) -> LoadedModel:
        """The newest served version of ``name``, or exactly ``version``.

        Raises:
          NotFound: unknown name, or ``version`` not served.
          Unavailable: no version of ``name`` loaded yet (the server is starting).
        """
        snapshot = self._snapshot  # one read: the whole request uses this set
        if name not in snapshot:
            raise NotFound(f"model {name!r} is not served here; served models: "
                           f"{', '.join(self.names)}")
        versions = snapshot[name]
        if not versions:
            raise Unavailable(f"model {name!r} has no version loaded yet (looking under "
                           f"{os.path.join(self.root, name)})")
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            raise NotFound(f"version {version} of model {name!r} is not served; served "
                           f"versions: {sorted(versions)}")
        return versions[version]

    def status(self, name: str) -> List[VersionStatus]:
        """Every version of ``name`` seen so far, newest first.

        Raises:
          NotFound: unknown name.
        """
        if name not in self._snapshot:
            raise NotFound(f"model {name!r} is not served here; served models: "
                           f"{', '.join(self.names)}")
        seen = [s for (n, _), s in self._status.items() if n == name]
        return sorted(seen, key=lambda s: -s.version)

    # -- updating (poller thread) -------------------------------------------------------------
    def poll_once(self) -> Dict[str, List[int]]:
        """Loads wanted versions not yet loaded, then publishes a new snapshot.

        Returns:
          {name: versions served after this poll}.
        """
        with self._poll_lock:
            new = {}
            for name in self.names:
                new[name] = self._next_versions(name)
            for name in self.names:
                for version in set(self._snapshot[name]) - set(new[name]):
                    self._status[(name, version)] = VersionStatus(version, END)
            changed = any(new[n].keys() != self._snapshot[n].keys()
                          or any(m is not self._snapshot[n][v] for v, m in new[n].items())
                          for n in self.names)
            previous = {n: sorted(v) for n, v in self._snapshot.items()}
            self._snapshot = new  # the atomic swap
            served = {n: sorted(v) for n, v in new.items()}
            if changed:
                for observer in self.observers:
                    observer.on_publish(previous, served)
            return served

    def _next_versions(self, name: str) -> Dict[int, LoadedModel]:
        current = self._snapshot[name]
        wanted = versions_on_disk(os.path.join(self.root, name))[-self.keep_versions:]
        out = {}
        for version in wanted:
            if version in current:
                out[version] = current[version]
            elif (name, version) not in self._failed:  # a broken version is not retried
                model = self._load(name, version)
                if model is not None:
                    out[version] = model
        if not out and current:  # keep serving until a wanted version is available
            newest = max(current)
            out[newest] = current[newest]
        return out

    def _load(self, name: str, version: int) -> Optional[LoadedModel]:
        path = os.path.join(self.root, name, str(version))
        self._status[(name, version)] = VersionStatus(version, LOADING)
        try:
            model = self._loader(name, version, path)
        except Exception as err:  # noqa: BLE001  (a broken version must not stop serving)
            _LOG.error("model %s version %d at %s failed to load: %s", name, version, path, err)
            self._failed.add((name, version))
            self._status[(name, version)] = VersionStatus(version, END, f"{type(err).__name__}: "
                                                                        f"{err}")
            for observer in self.observers:
                observer.on_load_failure(name, version, self._status[(name, version)].error)
            return None
        _LOG.info("model %s version %d loaded in %.2fs", name, version, model.load_seconds)
        self._status[(name, version)] = VersionStatus(version, AVAILABLE)
        return model

    def require_loaded(self) -> None:
        """Raises FileNotFoundError naming each model that has no version loaded."""
        missing = [n for n in self.names if not self._snapshot[n]]
        if missing:
            details = "; ".join(
                f"{n}: " + (self.status(n)[0].error if self.status(n) else
                            f"no <version>/{SAVED_MODEL_FILE} under {os.path.join(self.root, n)}")
                for n in missing)
            raise FileNotFoundError(f"no servable version of {', '.join(missing)} ({details})")

    def start_polling(self, interval_s: float) -> None:
        """Polls every ``interval_s`` seconds in a daemon thread until ``stop``."""
        def loop():
            while not self._stop.wait(interval_s):
                try:
                    self.poll_once()
                except Exception:  # noqa: BLE001  (keep polling; the error is logged)
                    _LOG.exception("polling %s failed", self.root)
        self._thread = threading.Thread(target=loop, name="model-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stops the poller (waits for a load in progress, at most ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
