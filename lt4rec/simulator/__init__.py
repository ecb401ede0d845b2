"""Traffic-log simulator: a stand-in for a video platform's impression logs with planted
CTR/CVR structure. ``simulate(...)`` writes day folders; see ``config.py`` for the story."""

from lt4rec.simulator.config import SimulatorConfig  # noqa: F401
from lt4rec.simulator.run import simulate  # noqa: F401
