"""The serving layer over real gRPC on 127.0.0.1: model service, ranking service, hot swap,
bad requests, concurrency, graceful shutdown, and the `lt4rec serve` / `lt4rec rank` commands.

One tiny model is exported once (``served_root``: ``pctr/1``, ``pcvr/1``) and every server here
serves a copy of it; expected scores come from the SavedModels themselves."""

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import grpc
import numpy as np
import portpicker
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

from lt4rec.schemas import logs
from lt4rec.schemas.validation import validate_logs
from lt4rec.models.export import export_models
from lt4rec.models.ranker import build_model
from lt4rec.models.tasks import CTR, CVR, OUTPUT_NAMES
from lt4rec.models.training import Trainer
from lt4rec.schemas import names
from lt4rec.serving import rank_request
from lt4rec.serving.inference import Limits
from lt4rec.serving.loaded_model import LoadedModel, load_model
from lt4rec.serving.model_registry import AVAILABLE
from lt4rec.serving.protos import rank_pb2, rank_pb2_grpc
from lt4rec.serving.ranking import RankingConfig, rank_scores
from lt4rec.serving.server import Server, ServerConfig

from conftest import tiny_config

PCTR, PCVR = OUTPUT_NAMES[CTR], OUTPUT_NAMES[CVR]
MAX_BATCH = 600


@pytest.fixture(scope="module")
def served_root(tiny_dataset, tmp_path_factory):
    """A serving root with version 1 of a briefly trained hard_share model."""
    config = tiny_config("hard_share")
    model = build_model(config, tiny_dataset.train.features)
    Trainer(model, config, tiny_dataset.train).fit(0.2)
    export = tmp_path_factory.mktemp("export")
    export_models(model, str(export))
    root = tmp_path_factory.mktemp("serving")
    for name in OUTPUT_NAMES:
        shutil.copytree(export / name, root / name / "1")
    return root


@pytest.fixture(scope="module")
def log_columns(tiny_logs):
    return validate_logs(logs.find_log_files(str(tiny_logs))[-1][0], use_tfdv=False).accepted


def _copy_root(src, dst):
    shutil.copytree(src, dst)
    return dst


def _start(config, loader=None):
    server = Server(config, loader)
    server.start()
    return server


@pytest.fixture(scope="module")
def server(served_root, tmp_path_factory):
    """Model + ranking services on one port (default a = b = c = 1)."""
    root = _copy_root(served_root, tmp_path_factory.mktemp("s") / "root")
    s = _start(ServerConfig(port=portpicker.pick_unused_port(), host="127.0.0.1",
                            models_dir=str(root), limits=Limits(max_batch_size=MAX_BATCH)))
    yield s
    s.stop(grace_s=5)


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


def _ranking_server(server, **ranking):
    """A ranking-only server (``--target``) in front of ``server``'s model service."""
    return _start(ServerConfig(port=portpicker.pick_unused_port(), host="127.0.0.1",
                               target=f"127.0.0.1:{server.port}", ranking=RankingConfig(**ranking),
                               max_message_mb=1))


def _request(columns, context_row, rows):
    return rank_request.request_from_json(rank_request.json_from_rows(columns, context_row, rows))


def _own_scores(root, request):
    """The SavedModels' own pCTR, pCVR of each candidate (context merged into it)."""
    examples = tf.constant([request.context.SerializeToString() + c.features.SerializeToString()
                            for c in request.candidates])
    out = []
    for name in (PCTR, PCVR):
        loaded = tf.saved_model.load(os.path.join(root, name, "1"))
        out.append(loaded.signatures["serving_default"](examples=examples)[name].numpy())
    return out


def _examples(columns, rows):
    """tf.Examples of log rows' serving columns (row i's user with row i's item)."""
    out = []
    for r in rows:
        request = _request(columns, r, [r])
        out.append(tf.train.Example.FromString(request.context.SerializeToString()
                                               + request.candidates[0].features.SerializeToString()))
    return out


def test_model_service_scores_equal_the_savedmodels(channel, served_root, log_columns):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    examples = _examples(log_columns, range(20))
    serialized = [e.SerializeToString() for e in examples]
    for name in (PCTR, PCVR):
        own = tf.saved_model.load(str(served_root / name / "1")).signatures[
            "serving_default"](examples=tf.constant(serialized))[name].numpy()
        req = predict_pb2.PredictRequest()
        req.model_spec.name = name
        req.inputs["examples"].CopyFrom(tf.make_tensor_proto(serialized, dtype=tf.string))
        resp = stub.Predict(req, timeout=30)
        assert resp.model_spec.version.value == 1 and resp.model_spec.signature_name == \
            "serving_default"
        np.testing.assert_allclose(tf.make_ndarray(resp.outputs[name]), own, rtol=1e-6)
        reg = regression_pb2.RegressionRequest()
        reg.model_spec.name, reg.model_spec.signature_name = name, "regress"
        reg.input.example_list.examples.extend(examples)
        values = [r.value for r in stub.Regress(reg, timeout=30).result.regressions]
        np.testing.assert_allclose(values, own, rtol=1e-6)
    cls = classification_pb2.ClassificationRequest()
    cls.model_spec.name, cls.model_spec.signature_name = PCTR, "classify"
    cls.input.example_list.examples.extend(examples[:3])
    got = stub.Classify(cls, timeout=30).result.classifications
    assert [c.label for c in got[0].classes] == ["0", "1"]
    assert abs(got[0].classes[0].score + got[0].classes[1].score - 1) < 1e-6
    meta = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    meta.model_spec.name = PCTR
    sigs = get_model_metadata_pb2.SignatureDefMap()
    stub.GetModelMetadata(meta, timeout=30).metadata["signature_def"].Unpack(sigs)
    assert sigs.signature_def["regress"].method_name == "tensorflow/serving/regress"
    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(model_spec={"name": PCVR}), timeout=30)
    assert [(s.version, s.state) for s in status.model_version_status] == [
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)]


def test_exports_carry_warmup_records_of_every_api_and_they_replay(served_root):
    import collections
    from tensorflow_serving.apis import prediction_log_pb2
    from lt4rec.models import warmup as records
    from lt4rec.serving import warmup
    for name, kinds in ((PCTR, {"predict_log": 2, "regress_log": 1, "classify_log": 1}),
                        (PCVR, {"predict_log": 2, "regress_log": 1})):
        path = records.warmup_path(str(served_root / name / "1"))
        logs_ = [prediction_log_pb2.PredictionLog.FromString(r)
                 for r in tf.data.TFRecordDataset(path).as_numpy_iterator()]
        assert collections.Counter(l.WhichOneof("log_type") for l in logs_) == kinds
        batch = tf.make_ndarray(logs_[1].predict_log.request.inputs["examples"])
        assert batch.shape == (records.WARMUP_BATCH,)
        model = load_model(name, 1, str(served_root / name / "1"))
        assert warmup.replay(model) == sum(kinds.values())


def test_regress_with_context_equals_predict_on_merged_examples(channel, log_columns):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = _request(log_columns, 0, range(1, 6))
    reg = regression_pb2.RegressionRequest()
    reg.model_spec.name, reg.model_spec.signature_name = PCVR, "regress"
    reg.input.example_list_with_context.context.CopyFrom(request.context)
    reg.input.example_list_with_context.examples.extend(c.features for c in request.candidates)
    merged = [request.context.SerializeToString() + c.features.SerializeToString()
              for c in request.candidates]
    pred = predict_pb2.PredictRequest()
    pred.model_spec.name = PCVR
    pred.inputs["examples"].CopyFrom(tf.make_tensor_proto(merged, dtype=tf.string))
    np.testing.assert_allclose([r.value for r in stub.Regress(reg).result.regressions],
                               tf.make_ndarray(stub.Predict(pred).outputs[PCVR]), rtol=1e-6)


def test_rank_scores_are_the_models_and_order_is_eq3(channel, served_root, log_columns):
    request = _request(log_columns, 3, range(10, 40))
    response = rank_pb2_grpc.RankingServiceStub(channel).Rank(request, timeout=30)
    pctr, pcvr = _own_scores(str(served_root), request)
    lengths = np.array([c.features.features.feature[names.VIDEO_LENGTH_S].float_list.value[0]
                        for c in request.candidates])
    got = {c.index: c for c in response.candidates}
    assert sorted(got) == list(range(30)) and (response.pctr_version, response.pcvr_version) == (1, 1)
    for i, c in got.items():
        assert c.id == request.candidates[i].id
        np.testing.assert_allclose([c.pctr, c.pcvr], [pctr[i], pcvr[i]], rtol=1e-6)
        assert c.rankscore == pytest.approx(pctr[i] * pcvr[i] * lengths[i], rel=1e-6)
    scores = [c.rankscore for c in response.candidates]
    assert scores == sorted(scores, reverse=True)


def test_exponents_change_the_order_as_eq3_says(server, log_columns):
    request = _request(log_columns, 0, range(1, 21))
    lengths = [c.features.features.feature[names.VIDEO_LENGTH_S].float_list.value[0]
               for c in request.candidates]
    by_length = _ranking_server(server, a=0.0, b=0.0, c=1.0)
    by_ctr_cvr2 = _ranking_server(server, a=1.0, b=2.0, c=0.0)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{by_length.port}") as ch:
            resp = rank_pb2_grpc.RankingServiceStub(ch).Rank(request, timeout=30)
        # a = b = 0, c = 1: rankscore is the video length itself
        assert [c.index for c in resp.candidates] == list(np.argsort(-np.array(lengths),
                                                                     kind="stable"))
        assert [c.rankscore for c in resp.candidates] == pytest.approx(
            sorted(lengths, reverse=True), rel=1e-6)
        with grpc.insecure_channel(f"127.0.0.1:{by_ctr_cvr2.port}") as ch:
            resp = rank_pb2_grpc.RankingServiceStub(ch).Rank(request, timeout=30)
        assert (resp.a, resp.b, resp.c) == (1.0, 2.0, 0.0)
        for c in resp.candidates:
            assert c.rankscore == pytest.approx(c.pctr * c.pcvr ** 2, rel=1e-6)
    finally:
        by_length.stop(grace_s=2)
        by_ctr_cvr2.stop(grace_s=2)


def _without(request, i, feature):
    bad = rank_pb2.RankRequest()
    bad.CopyFrom(request)
    del bad.candidates[i].features.features.feature[feature]
    return bad


def _with(request, i, feature, **value):
    bad = rank_pb2.RankRequest()
    bad.CopyFrom(request)
    target = bad.context if i is None else bad.candidates[i].features
    target.features.feature[feature].Clear()
    for kind, v in value.items():
        getattr(target.features.feature[feature], kind).value.extend(v)
    return bad


def test_each_bad_rank_request_gets_its_status_code(server, channel, log_columns):
    good = _request(log_columns, 0, range(1, 6))
    cases = [
        (_without(good, 3, names.ITEM_ID), grpc.StatusCode.INVALID_ARGUMENT,
         ["candidates[3]", names.ITEM_ID, "missing"]),
        (_with(good, 1, names.VIDEO_LENGTH_S, int64_list=[30]),
         grpc.StatusCode.INVALID_ARGUMENT, ["candidates[1]", names.VIDEO_LENGTH_S, "float_list"]),
        (_with(good, 2, names.VIDEO_LENGTH_S, float_list=[-5.0]),
         grpc.StatusCode.INVALID_ARGUMENT, [names.VIDEO_LENGTH_S, "> 0"]),
        (_with(good, None, names.HOUR_OF_DAY, int64_list=[25]),
         grpc.StatusCode.INVALID_ARGUMENT, ["context", names.HOUR_OF_DAY, "25"]),
        (_with(good, None, names.USER_ID, int64_list=[1, 2]),
         grpc.StatusCode.INVALID_ARGUMENT, [names.USER_ID, "exactly one value"]),
        (_with(good, 0, names.CLICK, int64_list=[1]),
         grpc.StatusCode.INVALID_ARGUMENT, [names.CLICK, "not a serving feature"]),
        (rank_pb2.RankRequest(context=good.context), grpc.StatusCode.INVALID_ARGUMENT,
         ["no candidates"]),
    ]
    stub = rank_pb2_grpc.RankingServiceStub(channel)
    for bad, code, words in cases:
        with pytest.raises(grpc.RpcError) as err:
            stub.Rank(bad, timeout=30)
        assert err.value.code() == code, err.value.details()
        assert all(w in err.value.details() for w in words), (words, err.value.details())
    small = _ranking_server(server, max_candidates=4)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{small.port}") as ch:
            stub4 = rank_pb2_grpc.RankingServiceStub(ch)
            with pytest.raises(grpc.RpcError) as err:
                stub4.Rank(good, timeout=30)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "5 candidates" in err.value.details() and "max_candidates=4" in \
                err.value.details()
            huge = _with(good, None, names.USER_GENDER, bytes_list=[b"x" * (2 << 20)])
            with pytest.raises(grpc.RpcError) as err:  # over the 1 MiB message limit
                stub4.Rank(huge, timeout=30)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        small.stop(grace_s=2)
    assert len(stub.Rank(good, timeout=30).candidates) == 5  # still serving


def test_each_bad_model_request_gets_its_status_code(channel, log_columns):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    serialized = [e.SerializeToString() for e in _examples(log_columns, range(3))]

    def predict(name=PCTR, version=None, signature="", inputs=None, key="examples"):
        req = predict_pb2.PredictRequest()
        req.model_spec.name, req.model_spec.signature_name = name, signature
        if version is not None:
            req.model_spec.version.value = version
        req.inputs[key].CopyFrom(inputs if inputs is not None else
                                 tf.make_tensor_proto(serialized, dtype=tf.string))
        return req

    no_item = _examples(log_columns, [0])[0]
    del no_item.features.feature[names.ITEM_ID]
    reg_missing = regression_pb2.RegressionRequest()
    reg_missing.model_spec.name, reg_missing.model_spec.signature_name = PCVR, "regress"
    reg_missing.input.example_list.examples.append(no_item)
    reg_empty = regression_pb2.RegressionRequest()
    reg_empty.model_spec.name, reg_empty.model_spec.signature_name = PCVR, "regress"
    cases = [
        (stub.Predict, predict(name="pctx"), grpc.StatusCode.NOT_FOUND, ["pctx", PCTR]),
        (stub.Predict, predict(version=7), grpc.StatusCode.NOT_FOUND, ["version 7", "[1]"]),
        (stub.Predict, predict(signature="nope"), grpc.StatusCode.FAILED_PRECONDITION,
         ["nope", "serving_default"]),
        (stub.Predict, predict(inputs=tf.make_tensor_proto([1.0, 2.0])),
         grpc.StatusCode.INVALID_ARGUMENT, ["examples", "string", "float32"]),
        (stub.Predict, predict(key="inputs"), grpc.StatusCode.INVALID_ARGUMENT,
         ["inputs", "examples"]),
        (stub.Predict, predict(inputs=tf.make_tensor_proto(serialized * (MAX_BATCH // 3 + 1),
                                                           dtype=tf.string)),
         grpc.StatusCode.RESOURCE_EXHAUSTED, [f"max_batch_size={MAX_BATCH}"]),
        (stub.Regress, reg_missing, grpc.StatusCode.INVALID_ARGUMENT,
         [f"Feature: {names.ITEM_ID}", "required"]),
        (stub.Regress, reg_empty, grpc.StatusCode.INVALID_ARGUMENT, ["empty"]),
    ]
    for method, req, code, words in cases:
        with pytest.raises(grpc.RpcError) as err:
            method(req, timeout=30)
        assert err.value.code() == code, err.value.details()
        assert all(w in err.value.details() for w in words), (words, err.value.details())


def test_eight_concurrent_clients_lose_no_request(channel, log_columns):
    """8 clients x 200 rank requests, each client its own candidates: every answer is complete
    and is the answer to its own request."""
    stub = rank_pb2_grpc.RankingServiceStub(channel)
    requests = [_request(log_columns, k, range(10 + 5 * k, 15 + 5 * k)) for k in range(8)]
    expected = [stub.Rank(r, timeout=30) for r in requests]
    deadline = time.monotonic() + 240

    def client(k):
        mismatches = failures = 0
        for _ in range(200):
            if time.monotonic() > deadline:
                break
            try:
                got = stub.Rank(requests[k], timeout=30)
            except grpc.RpcError:
                failures += 1
                continue
            mismatches += got != expected[k]
        return failures, mismatches

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    assert time.monotonic() <= deadline, "the 1600 requests did not finish in 240 s"
    assert results == [(0, 0)] * 8


def _publish(root, version):
    """A new version of both models, staged then renamed into place (as DualPusher does)."""
    for name in OUTPUT_NAMES:
        staging = root / name / f".tmp-{version}"
        shutil.copytree(root / name / "1", staging)
        os.replace(staging, root / name / str(version))


def test_hot_swap_under_a_stream_of_requests_fails_none(served_root, tmp_path, log_columns):
    root = _copy_root(served_root, tmp_path / "root")
    s = _start(ServerConfig(port=portpicker.pick_unused_port(), host="127.0.0.1",
                            models_dir=str(root), poll_interval_s=0.2))
    request = _request(log_columns, 0, range(1, 9))
    versions, failures, stop = [], [], threading.Event()

    per_client = [[], []]  # each client's responses in its own (causal) order

    def stream(seen):
        with grpc.insecure_channel(f"127.0.0.1:{s.port}") as ch:
            stub = rank_pb2_grpc.RankingServiceStub(ch)
            for _ in range(5000):
                if stop.is_set():
                    return
                try:
                    r = stub.Rank(request, timeout=30)
                    seen.append((r.pctr_version, r.pcvr_version))
                    versions.append(seen[-1])
                except grpc.RpcError as err:
                    failures.append(err)

    clients = [threading.Thread(target=stream, args=(seen,)) for seen in per_client]
    try:
        for c in clients:
            c.start()
        time.sleep(0.5)
        _publish(root, 2)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (2, 2) not in versions[-5:]:
            time.sleep(0.1)
        n_after = len(versions) + 20
        while time.monotonic() < deadline and len(versions) < n_after:
            time.sleep(0.05)
        # a broken version 3 is reported and never replaces version 2
        for name in OUTPUT_NAMES:
            os.makedirs(root / name / "3")
            (root / name / "3" / "saved_model.pb").write_bytes(b"not a SavedModel")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not s.registry.status(PCTR)[0].error:
            time.sleep(0.1)
        ok = len(versions)
        time.sleep(0.5)
    finally:
        stop.set()
        for c in clients:
            c.join(60)
        s.stop(grace_s=5)
    assert not failures, failures[:3]
    assert (1, 1) in versions and (2, 2) in versions[-5:]
    # each model moves 1 -> 2 once and never back, in every client's sequence of calls (the
    # shared list interleaves two clients, so its order is not causal); the two are independent
    # servables (as in TF Serving), so a response near the swap may pair pctr 2 with pcvr 1
    for seen in per_client:
        for m in (0, 1):
            assert [v[m] for v in seen] == sorted(v[m] for v in seen)
    assert {v for pair in versions for v in pair} == {1, 2} and len(versions) > ok  # no v3
    status = s.registry.status(PCTR)
    assert status[0].version == 3 and "saved_model" in status[0].error.lower()
    assert status[1].version == 2 and status[1].state == AVAILABLE


def test_admission_limit_then_shutdown_drains_in_flight_requests_and_refuses_new_ones(served_root, tmp_path,
                                                                 log_columns):
    def slow_loader(name, version, path):
        model = load_model(name, version, path)

        def slowed(fn):
            def call(**kwargs):
                time.sleep(1.0)
                return fn(**kwargs)
            return call
        return LoadedModel(model.name, model.version, model.path, model.signature_defs,
                           {k: slowed(f) for k, f in model.functions.items()}, root=model.root)

    root = _copy_root(served_root, tmp_path / "root")
    s = _start(ServerConfig(port=portpicker.pick_unused_port(), host="127.0.0.1",
                            models_dir=str(root), max_concurrent_rpcs=4), loader=slow_loader)
    request = _request(log_columns, 0, range(1, 6))
    with grpc.insecure_channel(f"127.0.0.1:{s.port}") as ch:
        stub = rank_pb2_grpc.RankingServiceStub(ch)
        in_flight = [stub.Rank.future(request, timeout=30) for _ in range(4)]
        time.sleep(0.3)
        with pytest.raises(grpc.RpcError) as over:  # a fifth call while four are admitted
            stub.Rank(request, timeout=10)
        assert over.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        stopper = threading.Thread(target=s.stop, kwargs={"grace_s": 20})
        stopper.start()
        time.sleep(0.3)
        with pytest.raises(grpc.RpcError) as err:
            stub.Rank(request, timeout=10)
        stopper.join(60)
        assert [len(f.result(timeout=1).candidates) for f in in_flight] == [5] * 4
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert not stopper.is_alive() and not s._thread.is_alive()


@pytest.mark.e2e
def test_serve_and_rank_commands(served_root, tmp_path):
    port = portpicker.pick_unused_port()
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(__file__)))
    serve = subprocess.Popen([sys.executable, "-m", "lt4rec.cli", "serve", "--models",
                              str(served_root), "--port", str(port), "--host", "127.0.0.1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        sample = os.path.join(env["PYTHONPATH"], "serving", "examples", "rank_request.json")
        out = subprocess.run([sys.executable, "-m", "lt4rec.cli", "rank", "--target",
                              f"127.0.0.1:{port}", "--request", sample, "--wait", "90",
                              "--json"], capture_output=True, text=True, env=env, timeout=180)
        assert out.returncode == 0, out.stderr
        ranked = json.loads(out.stdout)
        with open(sample, encoding="utf-8") as fh:
            sent = json.load(fh)
        assert sorted(c["id"] for c in ranked["candidates"]) == sorted(
            c["id"] for c in sent["candidates"])
        scores = [c["rankscore"] for c in ranked["candidates"]]
        assert scores == sorted(scores, reverse=True) and ranked["pctr_version"] == 1
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"context": sent["context"], "candidates": []}))
        out = subprocess.run([sys.executable, "-m", "lt4rec.cli", "rank", "--target",
                              f"127.0.0.1:{port}", "--request", str(bad)],
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 1 and "INVALID_ARGUMENT" in out.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            _, err = serve.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            raise
    assert serve.returncode == 0 and "stopped" in err


def test_a_taken_port_is_a_clear_error(server):
    taken = Server(ServerConfig(port=server.port, host="127.0.0.1",
                                target=f"127.0.0.1:{server.port}"))
    try:
        with pytest.raises(OSError, match=f"cannot bind 127.0.0.1:{server.port}"):
            taken.start()
    finally:
        taken.stop(grace_s=0)
