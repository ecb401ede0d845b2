"""DualPusher executor: ``<serving_root>/pctr/<version>/`` and ``.../pcvr/<version>/``.

Only a blessed model is pushed. Both SavedModels go out under one version number (greater
than any version already there), each copied to a hidden temporary folder first and renamed
into place, so a TF Serving file-system poller never sees half a model. Earlier versions stay.
Each version carries its warm-up records (``assets.extra/``, written by the export), and the
serving root gets TF Serving's ``models.config`` (base path: the root's absolute path) and
``batching_parameters.txt`` (``models.tf_serving_config``).
"""

import os
import shutil
import time

from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from lt4rec.models.tasks import OUTPUT_NAMES
from lt4rec.models.tf_serving_config import write_tf_serving_files


def next_version(serving_root: str) -> int:
    """max(unix time, 1 + the largest version already under any model folder)."""
    existing = [int(v) for name in OUTPUT_NAMES
                for v in (os.listdir(os.path.join(serving_root, name))
                          if os.path.isdir(os.path.join(serving_root, name)) else [])
                if v.isdigit()]
    return max(int(time.time()), max(existing, default=0) + 1)


def push(model_uri: str, serving_root: str) -> int:
    """Copies pctr/ and pcvr/ of a trained model artifact; returns the version."""
    version = next_version(serving_root)
    for name in OUTPUT_NAMES:
        target_dir = os.path.join(serving_root, name)
        os.makedirs(target_dir, exist_ok=True)
        staging = os.path.join(target_dir, f".tmp-{version}")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(os.path.join(model_uri, name), staging)
        os.replace(staging, os.path.join(target_dir, str(version)))
    write_tf_serving_files(serving_root, os.path.abspath(serving_root), OUTPUT_NAMES)
    return version


class Executor(base_executor.BaseExecutor):
    """See module docstring."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802
        model = artifact_utils.get_single_instance(input_dict["model"])
        blessing = artifact_utils.get_single_instance(input_dict["model_blessing"])
        pushed = artifact_utils.get_single_instance(output_dict["pushed_model"])
        if not blessing.get_int_custom_property("blessed"):
            logging.warning("DualPusher: model %s is not blessed; nothing pushed", model.uri)
            pushed.set_int_custom_property("pushed", 0)
            return
        version = push(model.uri, exec_properties["serving_root"])
        # Keep tomorrow's warm start reachable from the PushedModel artifact.
        shutil.copytree(model.uri, pushed.uri, dirs_exist_ok=True)
        pushed.set_int_custom_property("pushed", 1)
        pushed.set_int_custom_property("pushed_version", version)
        pushed.set_string_custom_property("pushed_destination", exec_properties["serving_root"])
        logging.info("DualPusher: pushed version %d to %s", version,
                     exec_properties["serving_root"])
