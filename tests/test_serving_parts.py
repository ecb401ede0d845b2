"""Serving parts without a server: Eq. 3, rank-request checks and JSON, the model registry's
version policy, TF Serving's files (models.config, batching, k8s, pusher), the generated protos.
"""

import os
import re

import numpy as np
import pytest
import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from lt4rec.commands.rank import format_table
from lt4rec.models.tasks import OUTPUT_NAMES
from lt4rec.schemas import names
from lt4rec.models import tf_serving_config
from lt4rec.serving import rank_request
from lt4rec.serving.errors import InvalidRequest, NotFound, TooLarge
from lt4rec.serving.loaded_model import LoadedModel
from lt4rec.serving.model_registry import AVAILABLE, END, ModelRegistry
from lt4rec.serving.protos import rank_pb2
from lt4rec.serving.ranking import RankingConfig, rank_scores, ranking_order

SERVING_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "serving")


def test_rank_scores_follow_eq3_by_hand():
    pctr, pcvr, length = [0.5, 0.2], [0.4, 1.0], [100.0, 50.0]
    np.testing.assert_allclose(rank_scores(pctr, pcvr, length, 1, 1, 1), [20.0, 10.0])
    # a=2, b=0.5, c=0: 0.25 * sqrt(0.4) and 0.04 * 1
    np.testing.assert_allclose(rank_scores(pctr, pcvr, length, 2, 0.5, 0),
                               [0.25 * 0.4 ** 0.5, 0.04])


def test_ranking_order_is_descending_and_keeps_request_order_on_ties():
    assert ranking_order(np.array([1.0, 3.0, 3.0, 2.0])).tolist() == [1, 2, 3, 0]


def test_ranking_config_names_a_bad_exponent():
    with pytest.raises(ValueError, match=r"`b` must be >= 0. Received: b=-1"):
        RankingConfig(b=-1.0)


def _json_request(n=3):
    context = {names.USER_ID: 7, names.USER_AGE_BUCKET: "25-34", names.USER_GENDER: "male",
               names.USER_RECENT_CLICKS: [3, 9], names.DAY_OF_WEEK: 2, names.HOUR_OF_DAY: 20,
               names.SOURCE_PAGE: "search", names.VIDEO_LENGTH_S: 60.0}
    candidates = [{"id": f"v{i}", "features": {names.ITEM_ID: 100 + i, names.ITEM_CATEGORY: 4,
                                               names.ITEM_TAGS: "5|6"}} for i in range(n)]
    candidates[1]["features"][names.VIDEO_LENGTH_S] = 300.0
    return {"context": context, "candidates": candidates}


def test_candidates_are_columns_over_the_context_and_lengths_come_from_either():
    request = rank_request.request_from_json(_json_request())
    columns = request.candidates.columns.feature
    # a column some candidates lack takes the context's value there
    assert list(columns[names.VIDEO_LENGTH_S].float_list.value) == [60.0, 300.0, 60.0]
    inputs = rank_request.check_request(request, max_candidates=10)
    assert inputs.video_length.tolist() == [60.0, 300.0, 60.0] and inputs.ids == ["v0", "v1", "v2"]
    features = inputs.features
    assert features[names.USER_RECENT_CLICKS].tolist() == ["3|9"] * 3  # JSON list joined
    assert features[names.ITEM_ID].tolist() == [100, 101, 102]
    assert features[names.USER_ID].dtype == np.int64 and features[names.VIDEO_LENGTH_S].dtype \
        == np.float32


def _set(request, where, name, **value):
    target = request.context.features if where == "context" else request.candidates.columns
    target.feature[name].Clear()
    for kind, v in value.items():
        getattr(target.feature[name], kind).value.extend(v)
    return request


def test_request_checks_name_the_candidate_the_feature_and_the_limit():
    def req():
        return rank_request.request_from_json(_json_request())

    with pytest.raises(TooLarge, match="3 candidates; the limit is max_candidates=2"):
        rank_request.check_request(req(), max_candidates=2)
    cases = [
        (_set(req(), "candidates", names.ITEM_CATEGORY, int64_list=[4, 4]),
         rf"candidates: feature '{names.ITEM_CATEGORY}' must hold one value per candidate \(3\)"),
        (_set(req(), "candidates", names.VIDEO_LENGTH_S, float_list=[60.0, 0.0, 60.0]),
         rf"candidates\[1\]: feature '{names.VIDEO_LENGTH_S}' must be > 0; received 0.0"),
        (_set(req(), "candidates", names.ITEM_TAGS, bytes_list=[b"5", b"5", b"5,6"]),
         rf"candidates\[2\]: feature '{names.ITEM_TAGS}' must be ids joined by '\|'"),
        (_set(req(), "context", names.SOURCE_PAGE, bytes_list=[b"nowhere"]),
         rf"context: feature '{names.SOURCE_PAGE}' must be one of home_feed.*'nowhere'"),
        (_set(req(), "context", names.USER_ID, float_list=[7.0]),
         rf"context: feature '{names.USER_ID}' must be a int64_list \(int\); received float_list"),
    ]
    for request, message in cases:
        with pytest.raises(InvalidRequest, match=message):
            rank_request.check_request(request, max_candidates=10)
    no_category = req()
    del no_category.candidates.columns.feature[names.ITEM_CATEGORY]
    with pytest.raises(InvalidRequest,
                       match=rf"missing required feature\(s\) \['{names.ITEM_CATEGORY}'\]"):
        rank_request.check_request(no_category, max_candidates=10)
    optional = req()
    del optional.context.features.feature[names.USER_RECENT_CLICKS]  # lists may be absent
    inputs = rank_request.check_request(optional, max_candidates=10)
    assert inputs.features[names.USER_RECENT_CLICKS].tolist() == [""] * 3


def test_json_errors_name_the_path_and_the_feature():
    obj = _json_request()
    obj["candidates"][1]["features"][names.ITEM_ID] = "abc"
    with pytest.raises(ValueError, match=rf"candidates\[1\].features: '{names.ITEM_ID}' must be "
                                         r"int; received 'abc'"):
        rank_request.request_from_json(obj)
    obj = _json_request()
    obj["context"]["user_idd"] = 3
    with pytest.raises(ValueError, match="context: 'user_idd' is not a serving feature"):
        rank_request.request_from_json(obj)


def test_sample_request_is_a_valid_request():
    import json
    with open(os.path.join(SERVING_DIR, "examples", "rank_request.json"), encoding="utf-8") as fh:
        request = rank_request.request_from_json(json.load(fh))
    inputs = rank_request.check_request(request, max_candidates=1000)
    assert inputs.size == len(request.candidates.ids) == 10 and (inputs.video_length > 0).all()


class _FakeLoader:
    """Loads instantly; fails for the (name, version) pairs in ``broken``."""

    def __init__(self, broken=()):
        self.broken, self.calls = set(broken), []

    def __call__(self, name, version, path):
        self.calls.append((name, version))
        if (name, version) in self.broken:
            raise ValueError(f"cannot parse {path}")
        return LoadedModel(name, version, path, {}, {})


def _versions(root, *versions):
    for name in OUTPUT_NAMES:
        for v in versions:
            os.makedirs(root / name / str(v), exist_ok=True)
            (root / name / str(v) / "saved_model.pb").write_bytes(b"")


def test_registry_serves_the_newest_version_and_swaps_in_a_new_one(tmp_path):
    _versions(tmp_path, 1, 2)
    os.makedirs(tmp_path / "pctr" / ".tmp-9")  # a pusher's staging folder: ignored
    registry = ModelRegistry(str(tmp_path), OUTPUT_NAMES, loader=_FakeLoader())
    assert registry.poll_once() == {"pctr": [2], "pcvr": [2]}
    held = registry.get("pctr")  # a request in flight
    _versions(tmp_path, 3)
    registry.poll_once()
    assert registry.get("pctr").version == 3 and held.version == 2
    with pytest.raises(NotFound, match=r"version 2 of model 'pctr' is not served; served "
                                       r"versions: \[3\]"):
        registry.get("pctr", 2)
    with pytest.raises(NotFound, match="model 'ctr' is not served here"):
        registry.get("ctr")
    assert [(s.version, s.state) for s in registry.status("pctr")] == [(3, AVAILABLE), (2, END)]


def test_registry_keeps_serving_when_a_new_version_is_broken_and_rolls_back(tmp_path):
    _versions(tmp_path, 1)
    loader = _FakeLoader(broken={("pcvr", 2)})
    registry = ModelRegistry(str(tmp_path), OUTPUT_NAMES, loader=loader)
    registry.poll_once()
    _versions(tmp_path, 2)
    assert registry.poll_once() == {"pctr": [2], "pcvr": [1]}
    assert "cannot parse" in registry.status("pcvr")[0].error
    registry.poll_once()
    assert loader.calls.count(("pcvr", 2)) == 1  # a broken version is not retried
    for name in OUTPUT_NAMES:  # roll back: delete version 2
        os.remove(tmp_path / name / "2" / "saved_model.pb")
    assert registry.poll_once() == {"pctr": [1], "pcvr": [1]}


def test_registry_keeps_n_versions_and_names_a_missing_model(tmp_path):
    _versions(tmp_path, 4, 5, 6)
    registry = ModelRegistry(str(tmp_path), OUTPUT_NAMES, keep_versions=2, loader=_FakeLoader())
    assert registry.poll_once()["pctr"] == [5, 6] and registry.get("pcvr", 5).version == 5
    empty = ModelRegistry(str(tmp_path / "nothing"), OUTPUT_NAMES, loader=_FakeLoader())
    empty.poll_once()
    with pytest.raises(FileNotFoundError, match="no servable version of pctr, pcvr"):
        empty.require_loaded()


def test_models_config_and_the_k8s_configmap_agree():
    with open(os.path.join(SERVING_DIR, "k8s", "configmap.yaml"), encoding="utf-8") as fh:
        data = yaml.safe_load(fh)["data"]
    parsed = text_format.Parse(data["models.config"], model_server_config_pb2.ModelServerConfig())
    assert parsed == tf_serving_config.models_config("/models", OUTPUT_NAMES)
    assert [(c.name, c.base_path) for c in parsed.model_config_list.config] == [
        ("pctr", "/models/pctr"), ("pcvr", "/models/pcvr")]
    assert data["batching_parameters.txt"] == tf_serving_config.BatchingParameters().to_text()
    deployment = next(yaml.safe_load_all(open(os.path.join(SERVING_DIR, "k8s",
                                                           "tf-serving-deployment.yaml"))))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "--batching_parameters_file=/config/batching_parameters.txt" in container["args"]


def test_pusher_publishes_warmup_records_and_writes_models_config(tmp_path):
    from lt4rec.components.dual_pusher.executor import push
    for name in OUTPUT_NAMES:
        extra = tmp_path / "model" / name / "assets.extra"
        os.makedirs(extra)
        (extra / "tf_serving_warmup_requests").write_bytes(b"records")
        (tmp_path / "model" / name / "saved_model.pb").write_bytes(b"")
    version = push(str(tmp_path / "model"), str(tmp_path / "serving"))
    for name in OUTPUT_NAMES:
        assert (tmp_path / "serving" / name / str(version) / "assets.extra" /
                "tf_serving_warmup_requests").read_bytes() == b"records"
    config = text_format.Parse((tmp_path / "serving" / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    assert config.model_config_list.config[0].base_path == str(tmp_path / "serving" / "pctr")
    assert (tmp_path / "serving" / "batching_parameters.txt").exists()


def test_generated_protos_match_rank_proto():
    with open(os.path.join(SERVING_DIR, "protos", "rank.proto"), encoding="utf-8") as fh:
        source = re.sub(r"//.*", "", fh.read())
    declared = {}
    for message, body in re.findall(r"message (\w+) \{(.*?)\n\}", source, re.S):
        declared[message] = {(n, int(i)) for n, i in re.findall(r"(\w+) = (\d+);", body)}
    generated = {name: {(f.name, f.number) for f in d.fields}
                 for name, d in rank_pb2.DESCRIPTOR.message_types_by_name.items()}
    assert generated == declared
    assert [m.name for m in rank_pb2.DESCRIPTOR.services_by_name["RankingService"].methods] == [
        "Rank"]


def test_rank_command_prints_the_columnar_response_in_rank_order():
    response = rank_pb2.RankResponse(ids=["b", "a"], index=[1, 0], pctr=[0.5, 0.25],
                                     pcvr=[0.5, 0.5], rankscore=[25.0, 6.25], pctr_version=3,
                                     pcvr_version=4, a=1, b=1, c=1)
    lines = format_table(response).splitlines()
    assert lines[0].startswith("pctr v3, pcvr v4")
    assert lines[2].split() == ["1", "b", "0.5000", "0.5000", "25"]
    assert lines[3].split() == ["2", "a", "0.2500", "0.5000", "6.25"]
    assert rank_request.response_to_json(response)["candidates"][1] == {
        "rank": 2, "id": "a", "index": 0, "pctr": 0.25, "pcvr": 0.5, "rankscore": 6.25}


class _Observer:
    def __init__(self):
        self.published, self.failed = [], []

    def on_publish(self, previous, served):
        self.published.append((previous["pctr"], served["pctr"]))

    def on_load_failure(self, model, version, error):
        self.failed.append((model, version))


def test_registry_tells_observers_only_when_what_is_served_changes(tmp_path):
    _versions(tmp_path, 1)
    observer = _Observer()
    registry = ModelRegistry(str(tmp_path), OUTPUT_NAMES, loader=_FakeLoader(
        broken=[("pctr", 3)]))
    registry.observers.append(observer)
    registry.poll_once()
    registry.poll_once()  # nothing new on disk
    _versions(tmp_path, 2)
    registry.poll_once()
    _versions(tmp_path, 3)
    registry.poll_once()  # pctr v3 fails: pctr keeps v2, pcvr moves to v3
    assert observer.published == [([], [1]), ([1], [2]), ([2], [2])]
    assert observer.failed == [("pctr", 3)]


def _k8s(name):
    with open(os.path.join(SERVING_DIR, "k8s", name), encoding="utf-8") as fh:
        return list(yaml.safe_load_all(fh))


def test_ranking_manifest_probes_the_health_service_and_is_scraped_where_metrics_are():
    import argparse
    from lt4rec.commands import serve
    from lt4rec.serving import health
    pod = _k8s("ranking-deployment.yaml")[0]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    assert container["command"][:2] == ["lt4rec", "serve"]
    config = serve.config_from_args(parser.parse_args(container["command"][2:]))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": config.port, "metrics": config.ops.metrics_port} == {
        "grpc": 8600, "metrics": 9090}
    assert container["readinessProbe"]["grpc"] == {"port": 8600, "service": health.OVERALL}
    assert container["livenessProbe"]["grpc"] == {"port": 8600, "service": health.LIVENESS}
    annotations = pod["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": "9090",
                           "prometheus.io/path": "/metrics"}
    assert (config.ops.request_timeout_s, config.max_message_mb) == (2.0, 16)


def test_tf_serving_manifest_exports_prometheus_metrics_where_they_are_scraped():
    monitoring = _k8s("configmap.yaml")[0]["data"]["monitoring.config"]
    assert re.search(r"prometheus_config \{\s*enable: true", monitoring)
    path = re.search(r'path: "([^"]+)"', monitoring).group(1)
    pod = _k8s("tf-serving-deployment.yaml")[0]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert "--monitoring_config_file=/config/monitoring.config" in container["args"]
    http = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    annotations = pod["metadata"]["annotations"]
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (
        str(http), path)
