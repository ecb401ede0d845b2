"""LT4REC package: ``pip install -c requirements/constraints.txt -e .`` (see README)."""

import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


# The user-fixed top-level folders install under the one ``lt4rec`` name (``lt4rec.models``,
# ``lt4rec.serving``, ...), so no generic top-level name (``models``, ``pipeline``) lands in
# site-packages. ``lt4rec/`` itself holds the applications (CLI, simulator, adapter,
# experiments, benchmarks) and the bootstrap that every layer imports first.
LAYER_FOLDERS = ("schemas", "models", "components", "pipeline", "serving")


def _packages():
    found = find_packages(include=["lt4rec", "lt4rec.*"])
    for layer in LAYER_FOLDERS:
        found += [f"lt4rec.{layer}"] + [f"lt4rec.{layer}.{sub}"
                                        for sub in find_packages(where=layer)]
    return found


def _requirements(name):
    with open(os.path.join(HERE, "requirements", name), encoding="utf-8") as fh:
        return [line.strip() for line in fh
                if line.strip() and not line.startswith(("#", "-r"))]


setup(
    name="lt4rec",
    version="0.1.0",
    description="Multi-task pCTR/pCVR ranking with lottery-ticket sparse sharing, as a TFX pipeline",
    python_requires=">=3.10,<3.11",
    packages=_packages(),
    package_dir={f"lt4rec.{layer}": layer for layer in LAYER_FOLDERS},
    package_data={"lt4rec.schemas": ["*.pbtxt", "mappings/*.json"],
                  "lt4rec.experiment": ["studies/*.json"],
                  "lt4rec.pipeline.beam": ["*.json"],
                  "lt4rec.serving": ["protos/*.proto", "examples/*.json", "k8s/*.yaml"]},
    install_requires=_requirements("base.txt"),
    extras_require={"dev": _requirements("dev.txt")},
    entry_points={"console_scripts": ["lt4rec=lt4rec.cli:main"]},
)
