"""LT4REC package: ``pip install -c requirements/constraints.txt -e .`` (see README)."""

import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _requirements(name):
    with open(os.path.join(HERE, "requirements", name), encoding="utf-8") as fh:
        return [line.strip() for line in fh
                if line.strip() and not line.startswith(("#", "-r"))]


setup(
    name="lt4rec",
    version="0.1.0",
    description="Multi-task pCTR/pCVR ranking with lottery-ticket sparse sharing, as a TFX pipeline",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["lt4rec", "lt4rec.*", "schemas", "schemas.*", "models",
                                    "models.*", "components", "components.*", "pipeline",
                                    "pipeline.*", "serving", "serving.*"]),
    package_data={"schemas": ["*.pbtxt"], "pipeline.beam": ["*.json"],
                  "serving": ["protos/*.proto", "examples/*.json", "k8s/*.yaml"]},
    install_requires=_requirements("base.txt"),
    extras_require={"dev": _requirements("dev.txt")},
    entry_points={"console_scripts": ["lt4rec=lt4rec.cli:main"]},
)
