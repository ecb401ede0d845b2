"""Shared fixtures: a small simulated log, generated once per session."""

import pytest

import lt4rec  # noqa: F401  (TF_USE_LEGACY_KERAS before anything imports TensorFlow)
from lt4rec.simulator import SimulatorConfig, simulate

SMALL_WORLD = SimulatorConfig(n_users=3000, n_items=1500)


@pytest.fixture(scope="session")
def small_logs(tmp_path_factory):
    """Two days x 5000 rows of simulated logs (seed 3), with ground truth."""
    root = tmp_path_factory.mktemp("logs")
    simulate(str(root), n_days=2, rows_per_day=5000, seed=3, config=SMALL_WORLD)
    return root


# A config shrunk for tests: small tables and nets, two pruning rounds, short training.
TINY_OVERRIDES = {
    "features": {"embedding_dim": 4, "user_buckets": 503, "item_buckets": 503,
                 "category_buckets": 31, "tag_buckets": 101},
    "model": {"hidden_units": [16, 8], "tower_units": [4]},
    "pruning": {"rounds": 3, "warmup_epochs": 0.5, "q": 0.3},
    "trainer": {"epochs": 1, "batch_size": 256, "learning_rate": 0.01},
}


def tiny_config(variant, **sections):
    """The production config of ``variant`` shrunk by TINY_OVERRIDES (plus ``sections``)."""
    from lt4rec.models.config import make_config
    overrides = {k: dict(v) for k, v in TINY_OVERRIDES.items()}
    for key, values in sections.items():
        overrides.setdefault(key, {}).update(values)
    if variant in ("mmoe", "ple"):
        overrides["model"]["hidden_units"] = [8]
    return make_config(variant, overrides)


@pytest.fixture(scope="session")
def tiny_logs(tmp_path_factory):
    """Four days x 800 rows: train (2 days), validation, test."""
    root = tmp_path_factory.mktemp("tiny_logs")
    simulate(str(root), n_days=4, rows_per_day=800, seed=5, config=SMALL_WORLD)
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tiny_logs):
    from lt4rec.models.config import TrainerConfig
    from lt4rec.models.data import load_dataset
    return load_dataset(str(tiny_logs), TrainerConfig())


PIPELINE_DAY = (2026, 11, 3)
"""The tiny_logs day the pipeline e2e tests run first."""


def lenient_blessing():
    """Evaluator thresholds any model passes (tiny data gives a weak model)."""
    from lt4rec.pipeline.eval_config import BlessingConfig
    return BlessingConfig(min_ctr_auc=0.0, max_cvr_mse=1.0, max_ctr_auc_drop=1.0,
                          max_cvr_mse_rise=1.0)


def run_pipeline_day(data_root, root, beam_pipeline_args, blessing=None):
    """One LocalDagRunner day (PIPELINE_DAY) of the pipeline with the TINY_OVERRIDES model."""
    import datetime as dt
    from lt4rec.pipeline import local_runner
    from lt4rec.pipeline.config import TrainingSettings
    return local_runner.run_day(str(data_root), str(root), dt.date(*PIPELINE_DAY),
                                TrainingSettings(model_overrides=TINY_OVERRIDES,
                                                 blessing=blessing or lenient_blessing()),
                                beam_pipeline_args=beam_pipeline_args)


def pushed_quality(root, version):
    """CTR AUC / CVR MSE of the models pushed as ``version`` under ROOT/serving, scored on the
    eval split of the first day ExampleGen wrote under ROOT/pipeline (raw records in)."""
    import tensorflow as tf
    from lt4rec.models.tasks import evaluate_predictions
    from lt4rec.schemas import names
    splits = sorted((root / "pipeline" / "FileBasedExampleGen" / "examples").iterdir(),
                    key=lambda p: int(p.name))
    records = tf.concat(list(tf.data.TFRecordDataset(
        sorted(map(str, (splits[0] / "Split-eval").glob("*.gz"))), "GZIP").batch(4096)), 0)
    labels = tf.io.parse_example(records, {
        names.CLICK: tf.io.FixedLenFeature([], tf.int64),
        names.WATCH_RATIO: tf.io.FixedLenFeature([], tf.float32)})
    scores = {name: tf.saved_model.load(str(root / "serving" / name / version)).signatures[
        "serving_default"](examples=records)[name].numpy() for name in ("pctr", "pcvr")}
    return evaluate_predictions(labels[names.CLICK].numpy(), labels[names.WATCH_RATIO].numpy(),
                                scores["pctr"], scores["pcvr"], effective_view_ratio=0.5)


@pytest.fixture(scope="session")
def direct_pipeline_day(tiny_logs, tmp_path_factory):
    """PIPELINE_DAY through the whole pipeline on Beam's DirectRunner (in memory).

    Returns {"root": Path, "run": DayRun, "quality": pushed_quality(...)}; the quality is
    taken right after the run, so tests that run later days in ``root`` do not change it.
    """
    root = tmp_path_factory.mktemp("direct_day") / "root"
    run = run_pipeline_day(tiny_logs, root, ["--direct_running_mode=in_memory"])
    return {"root": root, "run": run,
            "quality": pushed_quality(root, run.pushed_versions[-1])}
