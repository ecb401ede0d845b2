# Pipeline image for Kubeflow (`lt4rec pipeline compile --kubeflow --image IMAGE`): every TFX
# component runs in it. Build: docker build -t REGISTRY/lt4rec:TAG .
FROM python:3.10-slim
ENV PYTHONUNBUFFERED=1 TF_USE_LEGACY_KERAS=1
WORKDIR /lt4rec
COPY requirements/ requirements/
RUN pip install --no-cache-dir pip==24.2 \
 && pip install --no-cache-dir -c requirements/constraints.txt -r requirements/base.txt
COPY . .
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e .
# The KubeflowV2DagRunner entry point TFX launches inside the container.
ENTRYPOINT ["python", "-m", "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"]
