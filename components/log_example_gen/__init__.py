"""LogExampleGen: daily traffic-log CSVs -> validated, contract-typed tf.Example TFRecords."""

from lt4rec.components.log_example_gen.component import LogExampleGen  # noqa: F401
