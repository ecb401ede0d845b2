"""Serving operations over real gRPC on 127.0.0.1 (issue 15): the health service through
loading, serving and drain; the Prometheus endpoint; TLS and mutual TLS; the message-size limit
and request deadlines.

Models here are instant fakes with the real serving signatures (``serving_default`` on
tf.Examples, ``serving_raw`` on one tensor per serving column, as the ranking service calls
it; every example scores 0.5), so no TensorFlow model is trained or loaded; certificates are
made per module with ``cryptography`` (a CA, a server and a client certificate, and a second,
wrong CA).
"""

import asyncio
import concurrent.futures
import datetime
import ipaddress
import json
import os
import threading
import time
import urllib.request

import grpc
import portpicker
import pytest
import tensorflow as tf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from lt4rec.commands import rank as rank_cmd
from lt4rec.models.signatures import (DEFAULT_SIGNATURE, EXAMPLES_INPUT, PREDICT_METHOD,
                                      RAW_SIGNATURE)
from lt4rec.models.tasks import CTR, CVR, OUTPUT_NAMES
from lt4rec.schemas.contract import DType
from lt4rec.serving import deadline, health
from lt4rec.serving.loaded_model import LoadedModel
from lt4rec.serving.ops import OpsConfig
from lt4rec.serving.protos import rank_pb2_grpc
from lt4rec.serving.rank_request import request_from_json, serving_features
from lt4rec.serving.ranking import RankingConfig
from lt4rec.serving.server import Server, ServerConfig
from lt4rec.serving.tls import ClientTLS, read_ssl_config

PCTR, PCVR = OUTPUT_NAMES[CTR], OUTPUT_NAMES[CVR]
SERVING_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "serving")
HealthStatus = health_pb2.HealthCheckResponse
PREDICTION_SERVICE = "tensorflow.serving.PredictionService"
RANKING_SERVICE = "lt4rec.serving.RankingService"


class FakeModels:
    """A loader of instant models scoring 0.5 per example (the real signature's names).

    ``gate``: loading waits for it (``loading`` tells that a load began); ``slow``: while set,
    predictions wait for ``release``; ``broken``: versions that fail to load.
    """

    def __init__(self):
        self.gate, self.loading = threading.Event(), threading.Event()
        self.slow, self.release = threading.Event(), threading.Event()
        self.broken = set()
        self.gate.set()

    def __call__(self, name, version, path):
        self.loading.set()
        assert self.gate.wait(60)
        if version in self.broken:
            raise ValueError(f"cannot parse {path}")
        examples = _signature(name, {EXAMPLES_INPUT: tf.string})
        raw = _signature(name, {f.name: _DTYPES[f.dtype] for f in
                                serving_features().values()})

        def score(**inputs):
            if self.slow.is_set():
                self.release.wait(30)
            return {name: tf.fill(tf.shape(next(iter(inputs.values()))), 0.5)}
        return LoadedModel(name, version, path, {DEFAULT_SIGNATURE: examples, RAW_SIGNATURE: raw},
                           {DEFAULT_SIGNATURE: score, RAW_SIGNATURE: score})


_DTYPES = {DType.INT: tf.int64, DType.FLOAT: tf.float32, DType.STRING: tf.string}


def _signature(output, inputs):
    sig = meta_graph_pb2.SignatureDef(method_name=PREDICT_METHOD)
    for key, dtype in inputs.items():
        sig.inputs[key].dtype = dtype.as_datatype_enum
    sig.outputs[output].dtype = types_pb2.DT_FLOAT
    return sig


def _publish(root, version):
    for name in OUTPUT_NAMES:
        os.makedirs(root / name / str(version), exist_ok=True)
        (root / name / str(version) / "saved_model.pb").write_bytes(b"")


def _config(root=None, **kwargs):
    ops = kwargs.pop("ops", OpsConfig())
    where = {"models_dir": str(root)} if root is not None else {}
    kwargs.setdefault("poll_interval_s", 3600)  # tests poll the registry themselves
    return ServerConfig(port=portpicker.pick_unused_port(), host="127.0.0.1", ops=ops,
                        **where, **kwargs)


def _started(config, loader):
    server = Server(config, loader)
    server.start()
    return server


def _check(channel, service=""):
    return health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=10).status


def _predict(channel, model=PCTR, examples=(b"",), timeout=10):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.inputs[EXAMPLES_INPUT].CopyFrom(tf.make_tensor_proto(list(examples), tf.string))
    return prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
        request, timeout=timeout)


def _sample_request():
    with open(os.path.join(SERVING_DIR, "examples", "rank_request.json"), encoding="utf-8") as fh:
        return request_from_json(json.load(fh))


def _code(call, *args, **kwargs):
    with pytest.raises(grpc.RpcError) as err:
        call(*args, **kwargs)
    return err.value.code()


# -- health ------------------------------------------------------------------------------------
def test_health_is_not_serving_while_loading_serving_once_loaded_and_not_serving_on_drain(
        tmp_path):
    _publish(tmp_path, 1)
    models = FakeModels()
    models.gate.clear()
    server = Server(_config(tmp_path, ops=OpsConfig(drain_s=3.0)), models)
    starting = threading.Thread(target=server.start)
    starting.start()
    try:
        assert models.loading.wait(60)  # the port is open, the first model is loading
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            for service in ("", PREDICTION_SERVICE, RANKING_SERVICE):
                assert _check(ch, service) == HealthStatus.NOT_SERVING
            assert _check(ch, health.LIVENESS) == HealthStatus.SERVING
            assert _code(_check, ch, "no.such.Service") == grpc.StatusCode.NOT_FOUND
            assert _code(_predict, ch) == grpc.StatusCode.UNAVAILABLE  # retry later
            models.gate.set()
            starting.join(60)
            for service in ("", PREDICTION_SERVICE, "tensorflow.serving.ModelService",
                            RANKING_SERVICE, health.LIVENESS):
                assert _check(ch, service) == HealthStatus.SERVING
            watch = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest())
            assert next(watch).status == HealthStatus.SERVING
            stopping = threading.Thread(target=server.stop, kwargs={"grace_s": 5})
            stopping.start()
            assert next(watch).status == HealthStatus.NOT_SERVING  # shutdown has begun
            watch.cancel()
            # within the drain delay: health says NOT_SERVING, calls are still answered
            assert _check(ch) == HealthStatus.NOT_SERVING
            assert _check(ch, health.LIVENESS) == HealthStatus.SERVING
            assert _predict(ch).outputs[PCTR].float_val == [0.5]
            stopping.join(60)
            assert not stopping.is_alive()
    finally:
        models.gate.set()
        starting.join(60)
        server.stop(grace_s=0)


def test_ranking_only_health_follows_the_model_server(tmp_path):
    models = FakeModels()
    _publish(tmp_path / "models", 1)
    model_server = _started(_config(tmp_path / "models", ranking=None), models)
    ranking = _started(_config(target=f"127.0.0.1:{model_server.port}",
                               poll_interval_s=0.1), models)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{ranking.port}") as ch:
            watch = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest())
            statuses = [next(watch).status]
            if statuses[0] != HealthStatus.SERVING:
                statuses.append(next(watch).status)
            assert statuses[-1] == HealthStatus.SERVING
            model_server.stop(grace_s=0)
            assert next(watch).status == HealthStatus.NOT_SERVING  # its models are gone
            assert _check(ch, health.LIVENESS) == HealthStatus.SERVING
            watch.cancel()
    finally:
        ranking.stop(grace_s=0)
        model_server.stop(grace_s=0)


# -- metrics -----------------------------------------------------------------------------------
def _scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode("utf-8")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_endpoint_counts_requests_and_reports_versions_and_swaps(tmp_path):
    _publish(tmp_path, 1)
    models = FakeModels()
    server = _started(_config(tmp_path, ops=OpsConfig(metrics_port=portpicker.pick_unused_port())),
                      models)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            for _ in range(3):
                _predict(ch)
            assert _code(_predict, ch, model="pctx") == grpc.StatusCode.NOT_FOUND
            assert len(rank_pb2_grpc.RankingServiceStub(ch).Rank(_sample_request(),
                                                                 timeout=10).ids) == 10
        _publish(tmp_path, 2)
        server.registry.poll_once()
        models.broken.add(3)
        _publish(tmp_path, 3)
        server.registry.poll_once()
        got = _scrape(server.ops.metrics_port)
    finally:
        server.stop(grace_s=0)

    def handled(method, code, service=PREDICTION_SERVICE):
        return got[("grpc_server_handled_total", (("grpc_code", code), ("grpc_method", method),
                                                  ("grpc_service", service)))]
    assert handled("Predict", "OK") == 3 and handled("Predict", "NOT_FOUND") == 1
    assert handled("Rank", "OK", RANKING_SERVICE) == 1
    assert got[("grpc_server_handling_seconds_count", (("grpc_method", "Predict"),
                                                       ("grpc_service", PREDICTION_SERVICE)))] == 4
    assert got[("lt4rec_grpc_in_flight_requests", ())] == 0
    for model in OUTPUT_NAMES:
        assert got[("lt4rec_model_version", (("model", model),))] == 2
        assert got[("lt4rec_model_versions_loaded", (("model", model),))] == 1
        assert got[("lt4rec_model_swaps_total", (("model", model),))] == 1  # 1 -> 2
        assert got[("lt4rec_model_load_failures_total", (("model", model),))] == 1  # v3


# -- TLS ---------------------------------------------------------------------------------------
def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, key, issuer, issuer_key, ca=False, sans=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write_pair(folder, stem, cert, key):
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """ca.pem, server.pem/.key (localhost, 127.0.0.1), client.pem/.key, and wrong_ca.pem."""
    folder = tmp_path_factory.mktemp("certs")
    keys = {n: ec.generate_private_key(ec.SECP256R1()) for n in ("ca", "wrong_ca", "server",
                                                                 "client")}
    for ca in ("ca", "wrong_ca"):
        _write_pair(folder, ca, _certificate(ca, keys[ca], ca, keys[ca], ca=True), keys[ca])
    sans = (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    _write_pair(folder, "server", _certificate("localhost", keys["server"], "ca", keys["ca"],
                                               sans=sans), keys["server"])
    _write_pair(folder, "client", _certificate("ranker", keys["client"], "ca", keys["ca"]),
                keys["client"])
    return folder


def _ssl_config(certs, client_verify):
    path = certs / f"ssl_{client_verify}.config"
    path.write_text(f'server_key: "server.key"\nserver_cert: "server.pem"\n'
                    f'custom_ca: "ca.pem"\nclient_verify: {str(client_verify).lower()}\n')
    return str(path)


def _tls_channel(port, ca_file, cert_file=None, key_file=None):
    return grpc.secure_channel(f"127.0.0.1:{port}",
                               ClientTLS(ca_file, cert_file, key_file).credentials())


def test_tls_connects_with_the_right_ca_and_is_refused_with_a_wrong_one(tmp_path, certs):
    _publish(tmp_path, 1)
    server = _started(_config(tmp_path, ops=OpsConfig(
        ssl_config_file=_ssl_config(certs, False), health_port=portpicker.pick_unused_port())),
        FakeModels())
    try:
        with _tls_channel(server.port, str(certs / "ca.pem")) as ch:
            assert _check(ch) == HealthStatus.SERVING
        with _tls_channel(server.port, str(certs / "wrong_ca.pem")) as ch:
            assert _code(_check, ch) == grpc.StatusCode.UNAVAILABLE
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            assert _code(_check, ch) == grpc.StatusCode.UNAVAILABLE
        # the plaintext health-only port (for kubelet's probes) serves health and nothing else
        with grpc.insecure_channel(f"127.0.0.1:{server.ops.health_port}") as ch:
            assert _check(ch) == HealthStatus.SERVING
            assert _code(_predict, ch) == grpc.StatusCode.UNIMPLEMENTED
    finally:
        server.stop(grace_s=0)


def test_mutual_tls_refuses_a_client_without_a_certificate_and_ranks_end_to_end(tmp_path,
                                                                                certs):
    _publish(tmp_path, 1)
    mtls = OpsConfig(ssl_config_file=_ssl_config(certs, True))
    client = dict(ca_file=str(certs / "ca.pem"), cert_file=str(certs / "client.pem"),
                  key_file=str(certs / "client.key"))
    model_server = _started(_config(tmp_path, ranking=None, ops=mtls), FakeModels())
    ranking = _started(_config(target=f"127.0.0.1:{model_server.port}", ops=OpsConfig(
        ssl_config_file=_ssl_config(certs, True), target_tls=ClientTLS(**client))),
        FakeModels())
    try:
        with _tls_channel(model_server.port, client["ca_file"]) as ch:
            assert _code(_check, ch) == grpc.StatusCode.UNAVAILABLE
        with _tls_channel(model_server.port, **client) as ch:
            assert _predict(ch).outputs[PCTR].float_val == [0.5]
        # lt4rec rank -> ranking service -> model server, mutual TLS on both hops
        response = rank_cmd.rank(f"127.0.0.1:{ranking.port}", _sample_request(), 30, wait_s=30,
                                 tls=ClientTLS(**client))
        assert list(response.pctr) == [0.5] * 10
    finally:
        ranking.stop(grace_s=0)
        model_server.stop(grace_s=0)


def test_ssl_config_takes_tf_servings_inline_pem_or_paths_and_names_what_is_wrong(certs,
                                                                                 tmp_path):
    by_path = read_ssl_config(_ssl_config(certs, True))
    inline = tmp_path / "inline.config"
    inline.write_text("server_key: " + json.dumps((certs / "server.key").read_text()) +
                      "\nserver_cert: " + json.dumps((certs / "server.pem").read_text()) +
                      "\ncustom_ca: " + json.dumps((certs / "ca.pem").read_text()) +
                      "\nclient_verify: true\n")
    assert read_ssl_config(str(inline)) == by_path and by_path.client_verify
    cases = [('server_cert: "server.pem"', "server_key is empty"),
             ('server_key: "server.key" server_cert: "server.pem" client_verify: true',
              "client_verify is true but custom_ca is empty"),
             ('server_key: "missing.key" server_cert: "server.pem"',
              "server_key: cannot read"),
             ('server_key: "server.key" server_cert: "ssl_True.config"', "not a PEM file"),
             ('server_keys: "x"', "not a text-format SSLConfig")]
    for text, words in cases:
        path = certs / "bad.config"
        path.write_text(text)
        with pytest.raises(ValueError, match=words):
            read_ssl_config(str(path))


# -- limits ------------------------------------------------------------------------------------
def test_a_message_over_the_size_limit_is_resource_exhausted(tmp_path):
    _publish(tmp_path, 1)
    server = _started(_config(tmp_path, max_message_mb=1), FakeModels())
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            assert _code(_predict, ch, examples=[b"x" * (2 << 20)]) == \
                grpc.StatusCode.RESOURCE_EXHAUSTED
            assert _predict(ch, examples=[b"x" * 1000]).outputs[PCTR].float_val == [0.5]
    finally:
        server.stop(grace_s=0)


def test_a_request_over_the_server_deadline_is_deadline_exceeded(tmp_path):
    _publish(tmp_path, 1)
    models = FakeModels()
    model_server = _started(_config(tmp_path, ranking=None,
                                    ops=OpsConfig(request_timeout_s=0.5)), models)
    ranking = _started(_config(target=f"127.0.0.1:{model_server.port}",
                               ranking=RankingConfig(timeout_s=60),
                               ops=OpsConfig(request_timeout_s=0.5)), models)
    models.slow.set()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{model_server.port}") as ch:
            with pytest.raises(grpc.RpcError) as err:
                _predict(ch, timeout=30)
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "0.5s (--request-timeout)" in err.value.details()
        with grpc.insecure_channel(f"127.0.0.1:{ranking.port}") as ch:
            assert _code(rank_pb2_grpc.RankingServiceStub(ch).Rank, _sample_request(),
                         timeout=30) == grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        models.release.set()
        ranking.stop(grace_s=0)
        model_server.stop(grace_s=0)


class _RecordingModelServer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """A TF Serving stand-in that records each Predict's time left and scores 0.5."""

    def __init__(self):
        self.time_left = []

    def Predict(self, request, context):  # noqa: N802
        self.time_left.append(context.time_remaining())
        n = tf.make_ndarray(next(iter(request.inputs.values()))).shape[0]
        response = predict_pb2.PredictResponse()
        response.model_spec.name, response.model_spec.version.value = request.model_spec.name, 1
        response.outputs[request.output_filter[0]].CopyFrom(tf.make_tensor_proto([0.5] * n))
        return response


def test_the_remote_model_calls_get_the_time_the_rank_request_has_left():
    # The model server sees each call's deadline as wall-clock time left (gRPC's
    # ``time_remaining``), which a clock step on the machine shifts for every call alike. So the
    # rank request's model calls are compared with a control Predict sent with --model-timeout's
    # 60 s right after: 5 s against 60 s is a gap of about 55 s, whatever the clock does.
    recorder, upstream = _RecordingModelServer(), grpc.server(
        concurrent.futures.ThreadPoolExecutor(4))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(recorder, upstream)
    model_port = upstream.add_insecure_port("127.0.0.1:0")
    upstream.start()
    ranking = _started(_config(target=f"127.0.0.1:{model_port}",
                               ranking=RankingConfig(timeout_s=60)), None)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{ranking.port}") as ch:
            response = rank_pb2_grpc.RankingServiceStub(ch).Rank(_sample_request(), timeout=5)
        assert list(response.pctr) == [0.5] * 10 and len(recorder.time_left) == 2
        with grpc.insecure_channel(f"127.0.0.1:{model_port}") as ch:
            control = predict_pb2.PredictRequest()
            control.model_spec.name = PCTR
            control.inputs["x"].CopyFrom(tf.make_tensor_proto([1.0]))
            control.output_filter.append(PCTR)
            prediction_service_pb2_grpc.PredictionServiceStub(ch).Predict(control, timeout=60)
        *rank_calls, control_left = recorder.time_left
        assert all(control_left - left > 30 for left in rank_calls), recorder.time_left
    finally:
        ranking.stop(grace_s=0)
        upstream.stop(0)


def test_model_calls_get_the_time_the_request_has_left():
    seen = []

    async def continuation(details, request):
        seen.append(details.timeout)

    async def call(timeout, request_left):
        details = grpc.aio.ClientCallDetails("/m", timeout, None, None, None)
        if request_left is not None:
            deadline._REQUEST_DEADLINE.set(time.monotonic() + request_left)
        await deadline.PropagateDeadline().intercept_unary_unary(continuation, details, None)

    asyncio.run(call(10.0, 2.0))   # the request has ~2 s left: the model call gets them
    asyncio.run(call(0.5, 2.0))    # the call's own shorter timeout stays
    asyncio.run(call(10.0, None))  # not inside a request: unchanged
    assert 1.5 < seen[0] <= 2.0 and seen[1:] == [0.5, 10.0]


# -- flags -------------------------------------------------------------------------------------
def _serve_config(*argv):
    import argparse
    from lt4rec.commands import serve
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return serve.config_from_args(parser.parse_args(list(argv)))


def test_serve_flags_become_the_ops_config_and_bad_tls_combinations_are_named(certs):
    ca, cert = str(certs / "ca.pem"), str(certs / "client.pem")
    config = _serve_config("--target", "tfs:8500", "--metrics-port", "9090", "--request-timeout",
                           "1.5", "--max-message-mb", "8", "--drain-delay", "4",
                           "--target-ssl-ca", ca, "--health-port", "8601")
    assert (config.ops.metrics_port, config.ops.request_timeout_s, config.max_message_mb,
            config.ops.drain_s, config.ops.health_port) == (9090, 1.5, 8, 4.0, 8601)
    assert config.ops.target_tls == ClientTLS(ca, flags="--target-ssl")
    assert _serve_config("--models", "m").inline_ranking
    assert not _serve_config("--models", "m", "--ranking-in-pool").inline_ranking
    cases = [(("--target", "t:1", "--target-ssl-cert", cert), "need --target-ssl-ca"),
             (("--target", "t:1", "--target-ssl-ca", ca, "--target-ssl-cert", cert),
              "give both --target-ssl-cert and --target-ssl-key"),
             (("--target", "t:1", "--target-ssl-ca", str(certs / "nope.pem")),
              "--target-ssl-ca: cannot read"),
             (("--models", "m", "--target-ssl-ca", ca), "there is none"),
             (("--models", "m", "--request-timeout", "0"), "request_timeout_s` must be > 0")]
    for argv, words in cases:
        with pytest.raises(ValueError, match=words):
            _serve_config(*argv)
