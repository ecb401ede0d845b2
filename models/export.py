"""Exports: masked pCTR / pCVR SavedModels (and a combined one) that take raw log records.

Each task's export is sNET * its mask with the mask multiplied into plain weights: no mask
variable and no training-only op is saved. For S-Neuron the units a task pruned are cut out,
so its export is a smaller dense network (the compute saving is real); S-Weight keeps dense
kernels with zeros (the saving needs a sparse kernel at serving time: ``flops`` reports the
nonzero multiply-adds, ``executed_flops`` what a dense matmul does).

Signatures (each output a [B] float32):
  serving_default(examples: string[B])   serialized tf.Examples as ExampleGen writes log rows;
                                          the input is named ``examples`` as in TFX (Predict)
  serving_raw(<raw feature columns>[B])   the same model over raw feature tensors (Predict)
  regress(inputs: string[B]) -> outputs   TF Serving's Regress API (method tensorflow/serving/
                                          regress), single-task exports
  classify(inputs: string[B]) -> scores [B, 2], classes   TF Serving's Classify API, pctr only
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.saved_model import signature_constants as sig

from lt4rec.models.features import raw_feature_spec, raw_input_signature
from lt4rec.models.layers import MaskedDense
from lt4rec.models.preprocess import to_transform_inputs
from lt4rec.models.ranker import MultiTaskRanker, SparseArch
from lt4rec.models.tasks import CTR, CVR, OUTPUT_NAMES, TASKS
from lt4rec.models import signatures as names
from lt4rec.models import warmup
from lt4rec.models.tf_serving_config import CONTAINER_BASE_PATH, write_tf_serving_files

PCTCVR = "pctcvr"
COMBINED = "combined"


def _dense(kernel: np.ndarray, bias: np.ndarray, activation, name: str) -> tf.keras.layers.Dense:
    layer = tf.keras.layers.Dense(kernel.shape[1], activation=activation, name=name)
    layer.build((None, kernel.shape[0]))
    layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return layer


def _compiled_stack(model: MultiTaskRanker, task: int, compact: bool) -> List[tf.keras.layers.Layer]:
    """Plain Dense layers computing sNET * mask_task followed by the task's head.

    With ``compact`` and neuron masks, a unit the task pruned is removed: its column in its
    layer and its row in the next layer (the head included).
    """
    layers: List[MaskedDense] = model.masked_layers
    head = model.heads[task]
    out = []
    keep_in = None  # indices of the previous layer's kept units
    for i, layer in enumerate(layers):
        kernel = layer.effective_kernel(task)
        bias = layer.bias.numpy()
        if layer.mask_type == "neuron":
            bias = bias * layer.task_mask(task)
        if keep_in is not None:
            kernel = kernel[keep_in, :]
        if compact and layer.mask_type == "neuron":
            keep = np.flatnonzero(layer.task_mask(task) > 0)
            if keep.size == 0:  # keep one dead unit so shapes stay valid
                keep = np.array([0])
            kernel, bias, keep_in = kernel[:, keep], bias[keep], keep
        else:
            keep_in = None
        out.append(_dense(kernel, bias, layer.activation, f"dense_{i}"))
    head_kernel = head.kernel.numpy()
    if keep_in is not None:
        head_kernel = head_kernel[keep_in, :]
    out.append(_dense(head_kernel, head.bias.numpy(), head.activation, "head"))
    return out


class TaskScorer(tf.keras.layers.Layer):
    """One task's inference path: its InputArch then plain layers ([B] output)."""

    def __init__(self, input_arch, stack: Sequence[tf.keras.layers.Layer], task: int, **kwargs):
        super().__init__(**kwargs)
        self.input_arch, self.stack, self.task = input_arch, list(stack), task

    def call(self, features):
        x = self.input_arch(features, task=self.task)
        for layer in self.stack:
            x = layer(x)
        return tf.reshape(x, [-1])


def task_scorer(model: MultiTaskRanker, task: int, compact: bool = True) -> TaskScorer:
    """The inference path of ``task``: masks baked in for sparse variants, no mask variables."""
    if isinstance(model.over_arch, SparseArch):
        stack = _compiled_stack(model, task, compact)
    else:
        stack = model.over_arch.task_layers(task) + [model.heads[task]]
    return TaskScorer(model.input_arch_for(task), stack, task, name=f"scorer_{OUTPUT_NAMES[task]}")


class ExportModule(tf.Module):
    """SavedModel root: scorers for some tasks, with tf.Example and raw-feature signatures.

    Every signature takes raw log records. With ``transform_output`` (a
    ``tft.TFTransformOutput``: the pipeline's Transform graph) the records go through that
    graph first and the scorers read its outputs; without it the scorers preprocess in-graph
    (``models.preprocess``, the same function Transform ran).
    """

    def __init__(self, scorers: Sequence[TaskScorer], transform_output=None):
        super().__init__()
        self.scorers = list(scorers)
        self._spec = raw_feature_spec()
        self.tft_layer = (transform_output.transform_features_layer()
                          if transform_output is not None else None)

    def _outputs(self, features):
        if self.tft_layer is not None:
            features = self.tft_layer(to_transform_inputs(features))
        out = {OUTPUT_NAMES[s.task]: s(features) for s in self.scorers}
        if {s.task for s in self.scorers} == {CTR, CVR}:
            out[PCTCVR] = out[OUTPUT_NAMES[CTR]] * out[OUTPUT_NAMES[CVR]]
        return out

    def signatures(self) -> Dict[str, tf.types.experimental.ConcreteFunction]:
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=names.EXAMPLES_INPUT)])
        def serve_examples(examples):
            return self._outputs(tf.io.parse_example(examples, self._spec))

        @tf.function(input_signature=[raw_input_signature()])
        def serve_raw(features):
            return self._outputs(features)

        out = {names.DEFAULT_SIGNATURE: serve_examples.get_concrete_function(),
               names.RAW_SIGNATURE: serve_raw.get_concrete_function()}
        if len(self.scorers) == 1:
            scorer = self.scorers[0]

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string,
                                                        name=sig.REGRESS_INPUTS)])
            def regress(inputs):
                features = tf.io.parse_example(inputs, self._spec)
                return {sig.REGRESS_OUTPUTS: self._outputs(features)[OUTPUT_NAMES[scorer.task]]}
            out[names.REGRESS_SIGNATURE] = regress.get_concrete_function()
            if scorer.task == CTR:
                @tf.function(input_signature=[tf.TensorSpec([None], tf.string,
                                                            name=sig.CLASSIFY_INPUTS)])
                def classify(inputs):
                    p = self._outputs(tf.io.parse_example(inputs, self._spec))[
                        OUTPUT_NAMES[scorer.task]]
                    classes = tf.tile(tf.constant([["0", "1"]]), [tf.shape(p)[0], 1])
                    return {sig.CLASSIFY_OUTPUT_SCORES: tf.stack([1 - p, p], axis=1),
                            sig.CLASSIFY_OUTPUT_CLASSES: classes}
                out[names.CLASSIFY_SIGNATURE] = classify.get_concrete_function()
        return out


# TF Serving dispatches Regress/Classify only to signatures with these method names;
# tf.saved_model.save writes every signature as Predict, so they are set after saving.
_METHOD_NAMES = {names.REGRESS_SIGNATURE: names.REGRESS_METHOD,
                 names.CLASSIFY_SIGNATURE: names.CLASSIFY_METHOD}


def _save(module: "ExportModule", path: str) -> None:
    tf.saved_model.save(module, path, signatures=module.signatures())
    pb_path = os.path.join(path, names.SAVED_MODEL_FILE)
    proto = saved_model_pb2.SavedModel()
    with open(pb_path, "rb") as fh:
        proto.ParseFromString(fh.read())
    for meta_graph in proto.meta_graphs:
        for name, method in _METHOD_NAMES.items():
            if name in meta_graph.signature_def:
                meta_graph.signature_def[name].method_name = method
    with open(pb_path, "wb") as fh:
        fh.write(proto.SerializeToString())


def _dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def scorer_report(model: MultiTaskRanker, scorer: TaskScorer) -> Dict[str, int]:
    """Parameter and FLOP counts of one task's export vs the unpruned dense network."""
    emb = scorer.input_arch.embedding
    emb_params = int(sum(np.prod(v.shape) for v in emb.trainable_variables))
    num_fields, dim = emb.num_fields, emb.config.embedding_dim
    cross_flops = 2 * dim * num_fields * (num_fields - 1) // 2 if scorer.input_arch.cross else 0
    # A layer may hold weights its task's path never uses (PLE's last level): count the path.
    stack_vars = [v for layer in scorer.stack
                  for v in getattr(layer, "path_variables", layer.trainable_variables)]
    nonzero = int(sum(np.count_nonzero(v.numpy()) for v in stack_vars))
    executed = int(sum(np.prod(v.shape) for v in stack_vars))
    kernels = [v for v in stack_vars if len(v.shape) == 2]
    nonzero_macs = int(sum(np.count_nonzero(k.numpy()) for k in kernels))
    executed_macs = int(sum(np.prod(k.shape) for k in kernels))
    if model.masked_layers:  # the dense reference: sNET unpruned, plus the head
        dense_layers = model.masked_layers + [model.heads[scorer.task]]
        dense_macs = int(sum(np.prod(l.kernel.shape) for l in dense_layers))
        dense_params = dense_macs + int(sum(l.bias.shape[0] for l in dense_layers))
    else:
        dense_macs, dense_params = executed_macs, executed
    return {"nonzero_params": emb_params + nonzero, "dense_params": emb_params + dense_params,
            "flops": cross_flops + 2 * nonzero_macs,
            "executed_flops": cross_flops + 2 * executed_macs,
            "dense_flops": cross_flops + 2 * dense_macs}


def export_models(model: MultiTaskRanker, out_dir: str, compact: bool = True,
                  transform_output=None, warmup_examples=None) -> Dict[str, dict]:
    """Writes ``out_dir/pctr``, ``out_dir/pcvr`` and ``out_dir/combined`` SavedModels.

    ``transform_output``: the Transform graph (``tft.TFTransformOutput``) to put in front of
    the models, when they were trained on its outputs (the pipeline); see ``ExportModule``.

    For TF Serving, ``pctr`` and ``pcvr`` get ``assets.extra/tf_serving_warmup_requests``
    (``models.warmup``; ``warmup_examples``: serialized raw tf.Examples to use, default
    contract-valid samples), and ``out_dir`` gets ``models.config`` and
    ``batching_parameters.txt`` for a server whose model base path is ``/models``
    (``models.tf_serving_config``).

    Returns:
      {"pctr": report, "pcvr": report, "combined": {"bytes": n}}; each task report has
      nonzero_params, dense_params, flops, executed_flops, dense_flops, bytes, path.
    """
    scorers = {t: task_scorer(model, t, compact) for t in TASKS}
    reports = {}
    for t, scorer in scorers.items():
        path = os.path.join(out_dir, OUTPUT_NAMES[t])
        _save(ExportModule([scorer], transform_output), path)
        warmup.write_warmup(path, OUTPUT_NAMES[t], warmup_examples)
        reports[OUTPUT_NAMES[t]] = dict(scorer_report(model, scorer), bytes=_dir_bytes(path),
                                        path=path)
    path = os.path.join(out_dir, COMBINED)
    _save(ExportModule(list(scorers.values()), transform_output), path)
    reports[COMBINED] = {"bytes": _dir_bytes(path), "path": path}
    write_tf_serving_files(out_dir, CONTAINER_BASE_PATH, OUTPUT_NAMES)
    with open(os.path.join(out_dir, "export_report.json"), "w", encoding="utf-8") as fh:
        json.dump(reports, fh, indent=2)
    return reports
