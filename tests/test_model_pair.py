"""The fused pCTR + pCVR call (serving/model_pair.py) on two hand-made SavedModels:
pCTR = x / 10, pCVR = x / 10 + 0.5 (x an int64 column, w a string column the models ignore)."""

import asyncio
import concurrent.futures
import os

import numpy as np
import pytest
import tensorflow as tf

from lt4rec.models.signatures import RAW_SIGNATURE
from lt4rec.serving.errors import InvalidRequest
from lt4rec.serving.loaded_model import LoadedModel, load_model
from lt4rec.serving.model_clients import InProcessModels
from lt4rec.serving.model_pair import PairCache, fuse
from lt4rec.serving.model_registry import ModelRegistry
from lt4rec.serving.rank_request import RankInputs

_SPEC = {"x": tf.TensorSpec([None], tf.int64, name="x"),
         "w": tf.TensorSpec([None], tf.string, name="w")}


def _save(path, name, offset):
    module = tf.Module()

    @tf.function(input_signature=[_SPEC["x"], _SPEC["w"]])
    def raw(x, w):
        return {name: tf.cast(x, tf.float32) / 10 + offset}
    tf.saved_model.save(module, str(path), signatures={RAW_SIGNATURE: raw})


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A serving root: pctr and pcvr, versions 1 and 2 (the same functions)."""
    root = tmp_path_factory.mktemp("pair")
    for version in (1, 2):
        _save(root / "pctr" / str(version), "pctr", 0.0)
        _save(root / "pcvr" / str(version), "pcvr", 0.5)
    return root


def _loaded(root, version=1):
    return [load_model(n, version, os.path.join(root, n, str(version))) for n in ("pctr", "pcvr")]


_FEATURES = {"x": np.array([1, 2, 3], np.int64), "w": np.array(["a", "", "b"], object)}


def test_fused_pair_gives_each_models_own_scores(root):
    ctr, cvr = _loaded(root)
    pair = fuse(ctr, cvr, RAW_SIGNATURE)
    p_ctr, p_cvr = pair.run(_FEATURES)
    np.testing.assert_allclose(p_ctr, [0.1, 0.2, 0.3], rtol=1e-6)
    np.testing.assert_allclose(p_cvr, [0.6, 0.7, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(p_ctr, ctr.run(RAW_SIGNATURE, _FEATURES)["pctr"])
    np.testing.assert_array_equal(p_cvr, cvr.run(RAW_SIGNATURE, _FEATURES)["pcvr"])


def test_fused_pair_refuses_missing_and_unknown_inputs_by_name(root):
    pair = fuse(*_loaded(root), RAW_SIGNATURE)
    with pytest.raises(InvalidRequest, match=r"missing \['w'\], unexpected \['y'\]"):
        pair.run({"x": _FEATURES["x"], "y": _FEATURES["x"]})


def test_models_whose_signatures_are_python_functions_are_not_fused(root):
    ctr, cvr = _loaded(root)
    wrapped = LoadedModel(ctr.name, ctr.version, ctr.path, ctr.signature_defs,
                          {RAW_SIGNATURE: lambda **kw: ctr.functions[RAW_SIGNATURE](**kw)})
    assert fuse(wrapped, cvr, RAW_SIGNATURE) is None
    assert fuse(ctr, cvr, "no_such_signature") is None


def test_cache_holds_the_pair_of_the_newest_versions_across_a_swap(root, tmp_path):
    serving = tmp_path / "serving"
    for name in ("pctr", "pcvr"):
        os.makedirs(serving / name)
        os.symlink(root / name / "1", serving / name / "1")
    registry = ModelRegistry(str(serving), ("pctr", "pcvr"), loader=load_model)
    cache = PairCache(registry, ("pctr", "pcvr"), RAW_SIGNATURE)
    registry.observers.append(cache)
    registry.poll_once()
    v1 = [registry.get(n) for n in ("pctr", "pcvr")]
    assert cache.get(*v1).ctr.version == 1
    for name in ("pctr", "pcvr"):
        os.symlink(root / name / "2", serving / name / "2")
    registry.poll_once()
    v2 = [registry.get(n) for n in ("pctr", "pcvr")]
    pair = cache.get(*v2)
    assert (pair.ctr.version, pair.cvr.version) == (2, 2)
    assert cache.get(*v1) is None  # a request still holding v1 calls the models one by one
    assert cache.get(v2[0], v1[1]) is None


class _CountingPool(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that counts what is handed to it."""

    submitted = 0

    def submit(self, *args, **kwargs):
        self.submitted += 1
        return super().submit(*args, **kwargs)


def test_ranking_backend_scores_the_same_inline_in_the_pool_and_one_by_one(root):
    registry = ModelRegistry(str(root), ("pctr", "pcvr"), loader=load_model)
    cache = PairCache(registry, ("pctr", "pcvr"), RAW_SIGNATURE)
    registry.observers.append(cache)
    registry.poll_once()
    inputs = RankInputs(_FEATURES, np.ones(3), ["a", "b", "c"])
    never_fused = PairCache(registry, ("pctr", "pcvr"), RAW_SIGNATURE)  # sees no publish
    with _CountingPool(2) as pool:
        def score(pairs, inline):
            before = pool.submitted
            out = asyncio.run(InProcessModels(registry, pool, ("pctr", "pcvr"), RAW_SIGNATURE,
                                              pairs, inline=inline).score(inputs))
            return out, pool.submitted - before
        (inline, n_inline), (pooled, n_pooled), (one_by_one, n_one_by_one) = (
            score(cache, True), score(cache, False), score(never_fused, True))
    # the fused call on the event loop's own thread, or handed to the pool once; unfused
    # models one by one, each in the pool
    assert (n_inline, n_pooled, n_one_by_one) == (0, 1, 2)
    for a, b, c in zip(inline, pooled, one_by_one):
        np.testing.assert_array_equal(a.values, c.values)
        np.testing.assert_array_equal(b.values, c.values)
        assert a.version == b.version == c.version == 2
    np.testing.assert_allclose(inline[0].values, [0.1, 0.2, 0.3], rtol=1e-6)
