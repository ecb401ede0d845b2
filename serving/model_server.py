"""TF Serving's gRPC model API over the ``ModelRegistry``: PredictionService and ModelService.

``PredictionService``: Predict, Regress, Classify, GetModelMetadata (``signature_def``);
``ModelService``: GetModelStatus. Requests, responses, defaults (``serving_default``, newest
version) and status codes follow TF Serving, so a client written against
``tensorflow_model_server`` works unchanged here and vice versa (MultiInference and
HandleReloadConfigRequest answer UNIMPLEMENTED).

The servicers are asyncio (``grpc.aio``): a handler looks the model up on the event loop
(lock-free) and runs TensorFlow in a thread pool, so the ranking service can call this server
from the same process without a worker thread waiting on another.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Optional

from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, prediction_service_pb2_grpc)

from lt4rec.serving import inference
from lt4rec.serving.errors import InvalidRequest, NotFound, abort_on_error
from lt4rec.serving.loaded_model import LoadedModel
from lt4rec.serving.model_registry import AVAILABLE, LOADING, ModelRegistry

SIGNATURE_DEF_FIELD = "signature_def"


def _version_of(spec) -> Optional[int]:
    """The version a ModelSpec asks for (None: the newest).

    Raises:
      InvalidRequest: an empty model name, or a version label (none are configured).
    """
    if not spec.name:
        raise InvalidRequest("model_spec.name is empty; name a model (pctr or pcvr)")
    choice = spec.WhichOneof("version_choice")
    if choice == "version_label":
        raise InvalidRequest(f"model {spec.name!r}: version labels are not configured on this "
                             f"server (asked for {spec.version_label!r}); ask for a version "
                             f"number or none for the newest")
    return spec.version.value if choice == "version" else None


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """TF Serving's PredictionService (see the module docstring).

    Args:
      registry: the served models.
      limits: request limits (``inference.Limits``).
      executor: where TensorFlow runs (a thread pool the server owns).
    """

    def __init__(self, registry: ModelRegistry, limits: inference.Limits,
                 executor: concurrent.futures.Executor):
        self._registry, self._limits, self._executor = registry, limits, executor

    def model(self, spec) -> LoadedModel:
        """The LoadedModel a ModelSpec names (NotFound / InvalidRequest otherwise)."""
        return self._registry.get(spec.name, _version_of(spec))

    async def _run(self, handler, request):
        model = self.model(request.model_spec)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, handler, model, request, self._limits)

    @abort_on_error
    async def Predict(self, request, context):  # noqa: N802
        return await self._run(inference.predict, request)

    @abort_on_error
    async def Regress(self, request, context):  # noqa: N802
        return await self._run(inference.regress, request)

    @abort_on_error
    async def Classify(self, request, context):  # noqa: N802
        return await self._run(inference.classify, request)

    @abort_on_error
    async def GetModelMetadata(self, request, context):  # noqa: N802
        fields = list(request.metadata_field)
        if fields != [SIGNATURE_DEF_FIELD]:
            raise InvalidRequest(f"metadata_field must be [{SIGNATURE_DEF_FIELD!r}] (the only "
                                 f"metadata served, as in TF Serving); received {fields}")
        model = self.model(request.model_spec)
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        for name, sig in model.signature_defs.items():
            sig_map.signature_def[name].CopyFrom(sig)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = model.name
        response.model_spec.version.value = model.version
        response.metadata[SIGNATURE_DEF_FIELD].Pack(sig_map)
        return response


class ModelStatusServicer(model_service_pb2_grpc.ModelServiceServicer):
    """TF Serving's ModelService.GetModelStatus: each version's state (and load error)."""

    _STATES = {LOADING: get_model_status_pb2.ModelVersionStatus.LOADING,
               AVAILABLE: get_model_status_pb2.ModelVersionStatus.AVAILABLE}

    def __init__(self, registry: ModelRegistry):
        self._registry = registry

    @abort_on_error
    async def GetModelStatus(self, request, context):  # noqa: N802
        version = _version_of(request.model_spec)
        statuses_all = statuses = self._registry.status(request.model_spec.name)
        if version is not None:
            statuses = [s for s in statuses_all if s.version == version]
            if not statuses:
                raise NotFound(f"model {request.model_spec.name!r} has no version {version}; "
                               f"versions seen: {[s.version for s in statuses_all]}")
        response = get_model_status_pb2.GetModelStatusResponse()
        for s in statuses:
            entry = response.model_version_status.add(
                version=s.version,
                state=self._STATES.get(s.state, get_model_status_pb2.ModelVersionStatus.END))
            if s.error:
                entry.status.error_code = 2  # UNKNOWN (tensorflow.error.Code)
                entry.status.error_message = s.error
        return response
