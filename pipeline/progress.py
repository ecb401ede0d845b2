"""Visible progress of a local pipeline run: each component's start, end and wall time.

LocalDagRunner reports progress only through absl INFO logs, which TensorFlow's SavedModel
writer silences mid-run (it resets absl's verbosity). So ``ComponentTimer`` wraps the
launcher that runs each node instead, for the duration of one run.
"""

import contextlib
import sys
import time
from typing import Dict, Iterator

from tfx.orchestration.portable import launcher


class ComponentTimer:
    """Start/finish lines per pipeline node, and ``seconds[node_id]`` once it finished."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.seconds: Dict[str, float] = {}
        self.t0 = time.perf_counter()

    def _say(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f}s] {text}", file=self.stream, flush=True)

    @contextlib.contextmanager
    def node(self, node_id: str, instant: bool = False) -> Iterator[None]:
        """Times one node; ``instant`` nodes (resolvers) get their finish line only."""
        start = time.perf_counter()
        if not instant:
            self._say(f"{node_id} started")
        try:
            yield
        except BaseException:
            self._say(f"{node_id} FAILED after {time.perf_counter() - start:.1f}s")
            raise
        self.seconds[node_id] = time.perf_counter() - start
        self._say(f"{node_id} finished in {self.seconds[node_id]:.1f}s")


@contextlib.contextmanager
def timed_run(stream=sys.stderr) -> Iterator[ComponentTimer]:
    """Within the block, every node launch of a local run is timed and reported."""
    timer = ComponentTimer(stream)
    original = launcher.Launcher.launch

    def launch(self, *args, **kwargs):
        info = self._pipeline_node.node_info
        with timer.node(info.id, instant=info.type.name.endswith("Resolver")):
            return original(self, *args, **kwargs)

    launcher.Launcher.launch = launch
    try:
        yield timer
    finally:
        launcher.Launcher.launch = original
