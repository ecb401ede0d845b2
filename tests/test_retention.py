"""Retention on a hand-built ML Metadata lineage of four daily runs, and on serving folders."""

import pytest

mlmd = pytest.importorskip("ml_metadata")

from ml_metadata.metadata_store import metadata_store  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from lt4rec.pipeline import retention  # noqa: E402
from lt4rec.pipeline.lineage import Lineage  # noqa: E402
from lt4rec.pipeline.retention import RetentionPolicy, RetentionReport  # noqa: E402


class FakeRuns:
    """An in-memory MLMD store the way the daily pipeline fills it, with folders on disk."""

    def __init__(self, tmp_path):
        config = pb.ConnectionConfig()
        config.fake_database.SetInParent()
        self.store = metadata_store.MetadataStore(config)
        self.root = tmp_path / "pipeline"
        self.types = {}

    def _type(self, name, kind):
        if name not in self.types:
            put = self.store.put_artifact_type if kind == "a" else self.store.put_execution_type
            proto = pb.ArtifactType(name=name) if kind == "a" else pb.ExecutionType(name=name)
            self.types[name] = put(proto)
        return self.types[name]

    def artifact(self, type_name, span=None, **ints):
        folder = self.root / type_name / str(len(list(self.root.glob("*/*"))) + 1)
        folder.mkdir(parents=True)
        (folder / "data").write_bytes(b"x" * 1000)
        a = pb.Artifact(type_id=self._type(type_name, "a"), uri=str(folder), state=pb.Artifact.LIVE)
        for key, value in dict(ints, **({} if span is None else {"span": span})).items():
            a.custom_properties[key].int_value = value
        return self.store.put_artifacts([a])[0]

    def execution(self, type_name, inputs=None, outputs=None):
        eid = self.store.put_executions([pb.Execution(type_id=self._type(type_name, "e"))])[0]
        events = []
        for kind, items in ((pb.Event.INPUT, inputs or {}), (pb.Event.OUTPUT, outputs or {})):
            for key, aid in items.items():
                event = pb.Event(artifact_id=aid, execution_id=eid, type=kind)
                event.path.steps.add().key = key
                events.append(event)
        self.store.put_events(events)
        return eid


@pytest.fixture
def four_days(tmp_path):
    """Days 1-4 (spans 101-104): schema imported once (cached), masks searched on day 1 and
    reused, day 1's model blessed and pushed as version 11, days 2-4 not blessed."""
    runs = FakeRuns(tmp_path)
    schema = runs.artifact("Schema")
    runs.execution("tfx.ImportSchemaGen", outputs={"schema": schema})
    ids = {"schema": schema}
    previous_masks = model = None
    for day, span in enumerate((101, 102, 103, 104), start=1):
        examples = runs.artifact("Examples", span)
        stats = runs.artifact("ExampleStatistics")
        runs.execution("tfx.StatisticsGen", {"examples": examples}, {"statistics": stats})
        accepted = runs.artifact("lt4rec.AcceptedStatistics", span)
        runs.execution("lt4rec.DriftGate", {"statistics": stats, "schema": schema},
                       {"accepted": accepted})
        masks = runs.artifact("lt4rec.Masks", span)
        runs.execution("lt4rec.MaskGen", dict({"examples": examples},
                                              **({"previous_masks": previous_masks}
                                                 if previous_masks else {})), {"masks": masks})
        previous_masks = masks
        base = {"base_model": ids["model1"]} if day > 1 else {}
        model = runs.artifact("Model", span)
        runs.execution("lt4rec.SparseTrainer", dict({"examples": examples, "masks": masks},
                                                    **base), {"model": model})
        blessing = runs.artifact("ModelBlessing", blessed=int(day == 1))
        evaluation = runs.artifact("ModelEvaluation")
        runs.execution("tfx.Evaluator", dict({"model": model}, **({"baseline_model": ids["model1"]}
                                                                   if day > 1 else {})),
                       {"blessing": blessing, "evaluation": evaluation})
        pushed = runs.artifact("PushedModel", pushed=int(day == 1), pushed_version=10 + day)
        runs.execution("lt4rec.DualPusher", {"model": model, "model_blessing": blessing},
                       {"pushed_model": pushed})
        ids.update({f"examples{day}": examples, f"model{day}": model, f"masks{day}": masks,
                    f"blessing{day}": blessing, f"pushed{day}": pushed,
                    f"accepted{day}": accepted, f"stats{day}": stats})
    return runs, ids


def test_lineage_gives_every_artifact_the_day_it_belongs_to(four_days):
    runs, ids = four_days
    lineage = Lineage(runs.store)
    assert lineage.span(ids["stats3"]) == 103          # from its producer's input Examples
    assert lineage.span(ids["blessing2"]) == 102
    assert lineage.span(ids["schema"]) is None          # made from nothing dated


def test_old_artifacts_go_but_the_warm_start_masks_and_drift_baseline_stay(four_days):
    runs, ids = four_days
    report = RetentionReport()
    retention.prune_artifacts(Lineage(runs.store), 2, str(runs.root), report)
    lineage = Lineage(runs.store)
    live = {aid for aid, a in lineage.artifacts.items() if a.state == pb.Artifact.LIVE}
    # Days 1-2 are older than the newest two days (103, 104) ...
    assert ids["examples1"] not in live and ids["stats2"] not in live
    assert ids["masks1"] not in live and ids["accepted2"] not in live
    # ... except the last blessed model, its blessing and push (the warm start), and the
    # schema, which every day's cached ImportSchemaGen still hands out.
    assert {ids["model1"], ids["blessing1"], ids["pushed1"], ids["schema"]} <= live
    assert {ids["masks4"], ids["accepted4"], ids["examples3"], ids["model3"]} <= live
    for aid in set(lineage.artifacts) - live:
        assert lineage.artifacts[aid].state == pb.Artifact.DELETED
    deleted_uris = {lineage.artifacts[a].uri for a in set(lineage.artifacts) - live}
    assert set(report.artifacts) == deleted_uris and report.freed_bytes == 1000 * len(deleted_uris)
    assert not any(__import__("os").path.exists(u) for u in deleted_uris)


def test_keeping_zero_days_deletes_nothing(four_days):
    runs, _ = four_days
    assert retention.stale_artifacts(Lineage(runs.store), 0, str(runs.root)) == []


def test_the_last_blessed_models_version_is_protected(four_days):
    runs, _ = four_days
    assert retention.protected_version(Lineage(runs.store)) == 11


def test_serving_keeps_the_newest_n_the_served_one_and_the_protected_one(tmp_path):
    for model in ("pctr", "pcvr"):
        for version in (11, 12, 13, 14, 15):
            (tmp_path / model / str(version)).mkdir(parents=True)
        (tmp_path / model / ".tmp-16").mkdir()                      # a push in progress
    report = RetentionReport()
    retention.prune_serving(str(tmp_path), keep=2, protected=11, report=report)
    for model in ("pctr", "pcvr"):
        assert sorted(p.name for p in (tmp_path / model).iterdir()) == [".tmp-16", "11", "14",
                                                                         "15"]
    assert len(report.versions) == 4
    retention.prune_serving(str(tmp_path), keep=0, protected=None, report=report)  # off
    assert (tmp_path / "pctr" / "11").exists()


def test_a_negative_policy_is_rejected_by_name():
    with pytest.raises(ValueError, match="keep_days"):
        RetentionPolicy(keep_days=-1)
