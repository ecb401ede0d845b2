"""Exit statuses of ``lt4rec pipeline run``: what a scheduler reads from a daily run.

No heavy imports here: the command-line help shows ``EXIT_STATUS_HELP`` without loading TFX.
"""

EXIT_PUSHED = 0        # every day's model was blessed and pushed
EXIT_FAILED = 1        # the run failed: an error in a component (the traceback says where)
EXIT_USAGE = 2         # bad command-line input: no such day, unreadable config
EXIT_NOT_BLESSED = 3   # some day's model was not blessed: nothing pushed that day
EXIT_STOPPED = 4       # a gate (anomalies, drift) stopped a day before training

EXIT_STATUS_HELP = f"""exit status (for schedulers):
  {EXIT_PUSHED}  every day's model was blessed and pushed
  {EXIT_NOT_BLESSED}  some day's model was not blessed: nothing pushed that day, one line per
     missed threshold says why (later days still run)
  {EXIT_STOPPED}  a day was stopped by the anomaly or drift gate, each feature named (later
     days do not run; --accept-drift lets a known shift through)
  {EXIT_FAILED}  the run failed (an error in a component; the traceback says where)
  {EXIT_USAGE}  bad input on the command line (no such day, unreadable config)"""


def worst(statuses) -> int:
    """The run's status from its days': stopped > not blessed > pushed."""
    statuses = list(statuses)
    for status in (EXIT_STOPPED, EXIT_NOT_BLESSED):
        if status in statuses:
            return status
    return EXIT_PUSHED
