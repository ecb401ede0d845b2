"""DualPusher component definition."""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from lt4rec.components.dual_pusher import executor


class DualPusherSpec(ComponentSpec):
    PARAMETERS = {"serving_root": ExecutionParameter(type=str)}
    INPUTS = {"model": ChannelParameter(type=standard_artifacts.Model),
              "model_blessing": ChannelParameter(type=standard_artifacts.ModelBlessing)}
    OUTPUTS = {"pushed_model": ChannelParameter(type=standard_artifacts.PushedModel)}


class DualPusher(base_component.BaseComponent):
    """Pushes a blessed model's pctr/ and pcvr/ SavedModels to versioned serving folders."""
    SPEC_CLASS = DualPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
                 serving_root: str):
        super().__init__(spec=DualPusherSpec(
            model=model, model_blessing=model_blessing, serving_root=serving_root,
            pushed_model=types.Channel(type=standard_artifacts.PushedModel)))
