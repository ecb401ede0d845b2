"""TLS and mutual TLS for the gRPC servers and their clients.

Server side: TF Serving's ``--ssl_config_file``, a text-format ``tensorflow.serving.SSLConfig``
(tensorflow_serving/config/ssl_config.proto; ``tensorflow-serving-api`` does not ship its
generated module, so the four-field message is declared here)::

    server_key: "-----BEGIN PRIVATE KEY-----\\n..."     # PEM text, as TF Serving takes it,
    server_cert: "certs/server.pem"                       # or a path to a PEM file (LT4REC:
    custom_ca: "certs/ca.pem"                             # relative to the config file)
    client_verify: true                                   # mutual TLS: clients need a cert
                                                          # signed by custom_ca

A file TF Serving reads works here unchanged (PEM inline); paths are LT4REC's addition so keys
need not be pasted into the file. Client side (``lt4rec rank``, the ranking service's calls to
``--target``): ``ClientTLS`` (``--ssl-ca``, ``--ssl-cert``/``--ssl-key`` for mutual TLS).
"""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional, Tuple

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, text_format
from google.protobuf import message_factory

PEM_MARKER = "-----BEGIN"


def _ssl_config_class():
    """The ``tensorflow.serving.SSLConfig`` message class, declared as in ssl_config.proto."""
    proto = descriptor_pb2.FileDescriptorProto(name="lt4rec/ssl_config.proto",
                                               package="tensorflow.serving", syntax="proto3")
    msg = proto.message_type.add(name="SSLConfig")
    for number, (name, kind) in enumerate((("server_key", "TYPE_STRING"),
                                           ("server_cert", "TYPE_STRING"),
                                           ("custom_ca", "TYPE_STRING"),
                                           ("client_verify", "TYPE_BOOL")), 1):
        msg.field.add(name=name, number=number, label=descriptor_pb2.FieldDescriptorProto.
                      LABEL_OPTIONAL, type=getattr(descriptor_pb2.FieldDescriptorProto, kind))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.MessageFactory(pool).GetPrototype(
        pool.FindMessageTypeByName("tensorflow.serving.SSLConfig"))


SSLConfig = _ssl_config_class()


@dataclasses.dataclass(frozen=True)
class ServerTLS:
    """A server's key and certificate chain, and the CA its clients must be signed by."""
    key: bytes
    cert: bytes
    ca: Optional[bytes] = None
    client_verify: bool = False

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.key, self.cert)], root_certificates=self.ca,
                                           require_client_auth=self.client_verify)


def _pem(value: str, where: str, base_dir: str = "") -> bytes:
    """PEM text given inline, or read from a path (relative to ``base_dir``); ``where`` names
    the setting in errors."""
    if value.lstrip().startswith(PEM_MARKER):
        return value.encode("utf-8")
    path = os.path.join(base_dir, value)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        raise ValueError(f"{where}: cannot read {path}: {err.strerror}") from err
    if PEM_MARKER.encode() not in data:
        raise ValueError(f"{where}: {path} is not a PEM file (no {PEM_MARKER} line)")
    return data


def read_ssl_config(path: str) -> ServerTLS:
    """Reads a TF Serving SSLConfig text file (see the module docstring).

    Raises:
      ValueError: unreadable or malformed file, a missing key or certificate, client_verify
        without custom_ca, or a field that is neither PEM text nor a readable PEM file.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            config = text_format.Parse(fh.read(), SSLConfig())
    except OSError as err:
        raise ValueError(f"cannot read the SSL config file {path}: {err.strerror}") from err
    except text_format.ParseError as err:
        raise ValueError(f"{path} is not a text-format SSLConfig (fields server_key, "
                         f"server_cert, custom_ca, client_verify): {err}") from err
    for field in ("server_key", "server_cert"):
        if not getattr(config, field):
            raise ValueError(f"{path}: {field} is empty; TLS needs the server's key and "
                             f"certificate")
    if config.client_verify and not config.custom_ca:
        raise ValueError(f"{path}: client_verify is true but custom_ca is empty; mutual TLS "
                         f"needs the CA that signs client certificates")
    base = os.path.dirname(path)
    return ServerTLS(key=_pem(config.server_key, f"{path}: server_key", base),
                     cert=_pem(config.server_cert, f"{path}: server_cert", base),
                     ca=_pem(config.custom_ca, f"{path}: custom_ca", base)
                     if config.custom_ca else None,
                     client_verify=config.client_verify)


@dataclasses.dataclass(frozen=True)
class ClientTLS:
    """How a client checks the server (``ca_file``) and, for mutual TLS, proves itself.

    Attributes:
      ca_file: PEM of the CA that signed the server's certificate.
      cert_file, key_file: the client's certificate chain and key (mutual TLS); both or none.
      server_name: the name to check the server's certificate against, when it differs from
        the host in the target address (gRPC's ``ssl_target_name_override``).
      flags: the command-line prefix of these settings, for error messages.
    """
    ca_file: str
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    server_name: Optional[str] = None
    flags: str = "--ssl"

    def __post_init__(self):
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError(f"a client certificate needs its key and vice versa: give both "
                             f"{self.flags}-cert and {self.flags}-key, or neither")

    def credentials(self) -> grpc.ChannelCredentials:
        """Reads the PEM files (ValueError naming the flag of one that cannot be read)."""
        read = {name: _pem(path, f"{self.flags}-{name}") if path else None for name, path in (
            ("ca", self.ca_file), ("cert", self.cert_file), ("key", self.key_file))}
        return grpc.ssl_channel_credentials(root_certificates=read["ca"],
                                            private_key=read["key"],
                                            certificate_chain=read["cert"])

    def options(self) -> List[Tuple[str, str]]:
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []


def client_tls_from(ca: Optional[str], cert: Optional[str] = None, key: Optional[str] = None,
                    server_name: Optional[str] = None, flags: str = "--ssl"
                    ) -> Optional[ClientTLS]:
    """The ClientTLS of command-line flags ``{flags}-ca`` etc.; None (plaintext) without a CA.

    Raises:
      ValueError: a client certificate, key or server name without ``ca``; a certificate
        without its key or vice versa; a file that cannot be read or is not PEM.
    """
    if ca is None:
        if cert or key or server_name:
            raise ValueError(f"{flags}-cert, {flags}-key and {flags}-server-name need "
                             f"{flags}-ca (the CA that signed the server's certificate)")
        return None
    tls = ClientTLS(ca, cert, key, server_name, flags)
    tls.credentials()  # read the files now: a typo fails before anything starts
    return tls


def channel(target: str, tls: Optional[ClientTLS], options=(), aio: bool = False,
            interceptors=None):
    """A (``grpc.aio`` when ``aio``) channel to ``target``: TLS when ``tls`` is given."""
    module = grpc.aio if aio else grpc
    extra = {"interceptors": interceptors} if aio and interceptors else {}
    if tls is None:
        return module.insecure_channel(target, options=list(options), **extra)
    return module.secure_channel(target, tls.credentials(), options=list(options) + tls.options(),
                                 **extra)
