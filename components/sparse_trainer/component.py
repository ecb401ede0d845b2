"""SparseTrainer component definition."""

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.artifacts import Masks
from components.sparse_trainer import executor


class SparseTrainerSpec(ComponentSpec):
    PARAMETERS = {"variant": ExecutionParameter(type=str),
                  "config_json": ExecutionParameter(type=str, optional=True),
                  "seed": ExecutionParameter(type=int, optional=True)}
    INPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples),
              "masks": ChannelParameter(type=Masks, optional=True),
              "base_model": ChannelParameter(type=standard_artifacts.Model, optional=True)}
    OUTPUTS = {"model": ChannelParameter(type=standard_artifacts.Model)}


class SparseTrainer(base_component.BaseComponent):
    """Trains the configured variant (through MaskGen's masks) and exports pCTR/pCVR."""
    SPEC_CLASS = SparseTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, variant: str,
                 config_json: Optional[str] = None, seed: int = 0,
                 masks: Optional[types.BaseChannel] = None,
                 base_model: Optional[types.BaseChannel] = None):
        super().__init__(spec=SparseTrainerSpec(
            examples=examples, variant=variant, config_json=config_json, seed=seed, masks=masks,
            base_model=base_model, model=types.Channel(type=standard_artifacts.Model)))
