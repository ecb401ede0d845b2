"""MaskGen component definition."""

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from lt4rec.components.artifacts import Masks
from lt4rec.components.mask_gen import executor


class MaskGenSpec(ComponentSpec):
    PARAMETERS = {"variant": ExecutionParameter(type=str),
                  "config_json": ExecutionParameter(type=str, optional=True),
                  "seed": ExecutionParameter(type=int, optional=True),
                  "regenerate": ExecutionParameter(type=int, optional=True),
                  "train_workers": ExecutionParameter(type=int, optional=True)}
    INPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples),
              "transformed_examples": ChannelParameter(type=standard_artifacts.Examples,
                                                       optional=True),
              "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph,
                                                  optional=True),
              "previous_masks": ChannelParameter(type=Masks, optional=True),
              "hyperparameters": ChannelParameter(type=standard_artifacts.HyperParameters,
                                                  optional=True)}
    OUTPUTS = {"masks": ChannelParameter(type=Masks)}


class MaskGen(base_component.BaseComponent):
    """Algorithm 1 (warm-up, pruning rounds with rewinding, automatic pick) -> Masks.

    Args:
      examples: the day's Examples (``train`` trains, ``eval`` selects the round); with
        ``transformed_examples`` + ``transform_graph`` (Transform's outputs for them) those
        are read instead and ``examples`` only gives the spans.
      variant, config_json: the model config (``models.config.make_config``).
      previous_masks: the last Masks artifact; reused when compatible unless ``regenerate``.
      hyperparameters: TFX Tuner's ``best_hyperparameters``, overlaid on the config
        (``components.hyperparameters``); previous masks are then reused only when they were
        searched with exactly the tuned config.
      train_workers: search as this many worker processes on this host (TF_CONFIG on
        127.0.0.1, ``components.multi_worker_run``); 1 searches in the executor's process.
    """
    SPEC_CLASS = MaskGenSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, variant: str,
                 config_json: Optional[str] = None, seed: int = 0, regenerate: bool = False,
                 previous_masks: Optional[types.BaseChannel] = None,
                 transformed_examples: Optional[types.BaseChannel] = None,
                 transform_graph: Optional[types.BaseChannel] = None,
                 hyperparameters: Optional[types.BaseChannel] = None, train_workers: int = 1):
        super().__init__(spec=MaskGenSpec(
            hyperparameters=hyperparameters, train_workers=train_workers,
            examples=examples, transformed_examples=transformed_examples,
            transform_graph=transform_graph, variant=variant, config_json=config_json, seed=seed,
            regenerate=int(regenerate), previous_masks=previous_masks,
            masks=types.Channel(type=Masks)))
