"""What a validation gate raises to stop a day: one reason per finding, kept for the report.

The gates (``anomaly_gate.AnomalyGate``, ``drift_gate.DriftGate``) run before Transform; raising
stops the run, so nothing downstream trains or pushes on data that failed them. The local runner
recognises ``GateStoppedError`` and reports the day as stopped (exit status 4), not as a crash.
"""

from typing import Sequence


class GateStoppedError(RuntimeError):
    """A gate stopped the day. ``reasons``: one line per feature/finding."""

    def __init__(self, headline: str, reasons: Sequence[str]):
        self.headline = headline
        self.reasons = list(reasons)
        super().__init__(headline + ":\n" + "\n".join(f"  {line}" for line in self.reasons))

    def __reduce__(self):  # picklable with its two arguments (remote executors)
        return type(self), (self.headline, self.reasons)
