"""models.preprocess: hand-checkable ids; tf.Transform's graph equals the in-graph path; a
model trained on Transform outputs exports models that take raw records and score alike."""

import numpy as np
import pytest
import tensorflow as tf

from lt4rec.schemas import logs
from lt4rec.schemas.examples import encode_rows
from lt4rec.schemas.validation import validate_logs
from lt4rec.models import preprocess as pp
from lt4rec.models.config import FeatureConfig
from lt4rec.models.data import make_transformed_split
from lt4rec.models.export import export_models
from lt4rec.models.features import FeatureEmbedding, raw_feature_spec
from lt4rec.models.ranker import build_model
from lt4rec.models.tasks import CTR, CVR, OUTPUT_NAMES
from lt4rec.models.training import Trainer
from lt4rec.schemas import contract as contract_lib
from lt4rec.schemas import names

from conftest import tiny_config

CONFIG = FeatureConfig(embedding_dim=4, user_buckets=503, item_buckets=503, category_buckets=31,
                       tag_buckets=101, max_list_length=3)


def _raw_row(**overrides):
    contract = contract_lib.load()
    row = {}
    for f in contract.model_inputs:
        if f.vocabulary:
            row[f.name] = f.vocabulary[0]
        elif f.kind is contract_lib.Kind.LIST:
            row[f.name] = ""
        else:
            row[f.name] = 1
    row.update(overrides)
    return {k: tf.constant([v]) for k, v in row.items()}


def test_list_ids_are_hashed_truncated_and_padded():
    raw = _raw_row(**{names.USER_RECENT_CLICKS: "7|9||11|13"})
    out = pp.preprocess(raw, CONFIG)[pp.transformed_name(names.USER_RECENT_CLICKS)].numpy()
    expected = tf.strings.to_hash_bucket_fast(["7", "9", "11"], CONFIG.item_buckets).numpy()
    np.testing.assert_array_equal(out, [expected])  # empty token dropped, 13 cut by max 3
    empty = pp.preprocess(_raw_row(), CONFIG)[pp.transformed_name(names.USER_RECENT_CLICKS)]
    np.testing.assert_array_equal(empty.numpy(), [[pp.PAD_ID] * 3])


def test_vocabulary_ids_and_oov_and_bounded_ints():
    contract = contract_lib.load()
    vocab_feature = next(f for f in contract.model_inputs if f.vocabulary)
    bounded = next(f for f in contract.model_inputs
                   if f.max_value is not None and not f.vocabulary)
    raw = _raw_row(**{vocab_feature.name: vocab_feature.vocabulary[-1],
                      bounded.name: int(bounded.max_value) + 5})
    out = pp.preprocess(raw, CONFIG)
    assert out[pp.transformed_name(vocab_feature.name)].numpy()[0] == len(vocab_feature.vocabulary)
    assert out[pp.transformed_name(bounded.name)].numpy()[0] == int(bounded.max_value) + 1
    oov = pp.preprocess(_raw_row(**{vocab_feature.name: "no-such-value"}), CONFIG)
    assert oov[pp.transformed_name(vocab_feature.name)].numpy()[0] == 0


def test_embedding_gives_the_same_fields_from_raw_and_transformed(tiny_dataset):
    raw = {k: v[:64] for k, v in tiny_dataset.train.features.items()}
    emb = FeatureEmbedding(CONFIG)
    fields_raw, dense_raw = emb(raw)
    fields_xf, dense_xf = emb(pp.preprocess(raw, CONFIG))
    np.testing.assert_allclose(fields_raw.numpy(), fields_xf.numpy())
    np.testing.assert_allclose(dense_raw.numpy(), dense_xf.numpy())


@pytest.fixture(scope="module")
def transform_output(tiny_logs, tmp_path_factory):
    """tf.Transform run over the tiny logs' examples as the pipeline's Transform runs it."""
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata
    from tfx_bsl.public import tfxio

    schema = contract_lib.load_schema_proto()
    out = tmp_path_factory.mktemp("transform")
    files = [f for f, _day in logs.find_log_files(str(tiny_logs))]
    columns = validate_logs(files[0], use_tfdv=False).accepted
    record_file = str(out / "raw.tfrecord")
    with tf.io.TFRecordWriter(record_file) as writer:
        for record in encode_rows(columns):
            writer.write(record)
    source = tfxio.TFExampleRecord(file_pattern=record_file, schema=schema)
    custom = pp.transform_custom_config(tiny_config("sparse_weight").features)
    with tft_beam.Context(temp_dir=str(out / "tmp")):
        import apache_beam as beam
        with beam.Pipeline() as p:
            raw = p | source.BeamSource()
            transform_fn = (raw, source.TensorAdapterConfig()) | tft_beam.AnalyzeDataset(
                lambda inputs: pp.preprocessing_fn(inputs, custom))
            _ = transform_fn | tft_beam.WriteTransformFn(str(out / "graph"))
            _ = (dataset_metadata.DatasetMetadata(schema) | "raw metadata" >> tft_beam.WriteMetadata(
                str(out / "graph" / tft.TFTransformOutput.RAW_METADATA_DIR), p))
    return tft.TFTransformOutput(str(out / "graph")), columns


def test_transform_graph_equals_in_graph_preprocess(transform_output):
    tft_output, columns = transform_output
    records = tf.constant(list(encode_rows({k: v[:100] for k, v in columns.items()})))
    spec = tft_output.raw_feature_spec()
    transformed = tft_output.transform_raw_features(tf.io.parse_example(records, spec))
    expected = pp.preprocess(tf.io.parse_example(records, raw_feature_spec(include_labels=True)),
                             tiny_config("sparse_weight").features)
    assert set(expected) <= set(transformed)
    for name, value in expected.items():
        np.testing.assert_allclose(tf.reshape(transformed[name], value.shape).numpy(),
                                   value.numpy(), err_msg=name)


def test_model_trained_on_transformed_exports_raw_signatures(transform_output, tmp_path):
    tft_output, columns = transform_output
    config = tiny_config("sparse_weight")
    records = tf.constant(list(encode_rows(columns)))
    parsed = tf.io.parse_example(records, tft_output.raw_feature_spec())
    transformed = {k: v.numpy() for k, v in tft_output.transform_raw_features(parsed).items()}
    split = make_transformed_split("train", ["d"], transformed)
    assert split.size == len(records) and 0 < len(split.clicked_index) < split.size
    model = build_model(config, split.features)
    Trainer(model, config, split).fit(0.5)
    export_models(model, str(tmp_path), transform_output=tft_output)
    spec = raw_feature_spec()
    raw = {k: tf.constant(np.asarray(v[:50]).astype(spec[k].dtype.as_numpy_dtype)
                          if spec[k].dtype != tf.string else np.asarray(v[:50]).astype(str))
           for k, v in columns.items() if k in spec}
    xf = {k: v[:50] for k, v in split.features.items()}
    for task in (CTR, CVR):
        name = OUTPUT_NAMES[task]
        loaded = tf.saved_model.load(str(tmp_path / name))
        expected = model.task_output(xf, task).numpy()
        got = loaded.signatures["serving_default"](examples=records[:50])[name].numpy()
        np.testing.assert_allclose(got, expected, atol=1e-5)
        got_raw = loaded.signatures["serving_raw"](**raw)[name].numpy()
        np.testing.assert_allclose(got_raw, expected, atol=1e-5)
