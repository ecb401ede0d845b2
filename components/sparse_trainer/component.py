"""SparseTrainer component definition."""

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from lt4rec.components.artifacts import Masks
from lt4rec.components.sparse_trainer import executor


class SparseTrainerSpec(ComponentSpec):
    PARAMETERS = {"variant": ExecutionParameter(type=str),
                  "config_json": ExecutionParameter(type=str, optional=True),
                  "seed": ExecutionParameter(type=int, optional=True),
                  "train_workers": ExecutionParameter(type=int, optional=True)}
    INPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples),
              "transformed_examples": ChannelParameter(type=standard_artifacts.Examples,
                                                       optional=True),
              "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph,
                                                  optional=True),
              "masks": ChannelParameter(type=Masks, optional=True),
              "base_model": ChannelParameter(type=standard_artifacts.Model, optional=True),
              "hyperparameters": ChannelParameter(type=standard_artifacts.HyperParameters,
                                                  optional=True)}
    OUTPUTS = {"model": ChannelParameter(type=standard_artifacts.Model)}


class SparseTrainer(base_component.BaseComponent):
    """Trains the configured variant (through MaskGen's masks) and exports pCTR/pCVR.

    Args:
      examples: the Examples to train on (``train``) and score (``eval``); with
        ``transformed_examples`` + ``transform_graph`` those are read instead, and the
        exports put the Transform graph in front of the models (they take raw records).
      variant, config_json, seed: the model config and random seed.
      train_workers: train as this many worker processes on this host (TF_CONFIG on
        127.0.0.1, ``components.multi_worker_run``); 1 trains in the executor's process.
      masks: MaskGen's output (sparse variants).
      base_model: the last blessed model, warm-started from when its shape matches.
      hyperparameters: TFX Tuner's ``best_hyperparameters``, overlaid on the config
        (``components.hyperparameters``).
    """
    SPEC_CLASS = SparseTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, variant: str,
                 config_json: Optional[str] = None, seed: int = 0,
                 masks: Optional[types.BaseChannel] = None,
                 base_model: Optional[types.BaseChannel] = None,
                 transformed_examples: Optional[types.BaseChannel] = None,
                 transform_graph: Optional[types.BaseChannel] = None,
                 hyperparameters: Optional[types.BaseChannel] = None, train_workers: int = 1):
        super().__init__(spec=SparseTrainerSpec(
            hyperparameters=hyperparameters, train_workers=train_workers,
            examples=examples, transformed_examples=transformed_examples,
            transform_graph=transform_graph, variant=variant, config_json=config_json, seed=seed, masks=masks,
            base_model=base_model, model=types.Channel(type=standard_artifacts.Model)))
