"""``lt4rec experiment``: every variant x seed on the same day splits, then Table 2/3 reports.

Modules, one concern each: ``runner`` (train and save each run, resumable), ``stats`` (mean,
std, paired tests over seeds), ``offline`` (the offline analog of the papers' online Table 3),
``report`` (report.json / report.md), ``figures`` (PNG plots), ``cli`` (the command).
"""
