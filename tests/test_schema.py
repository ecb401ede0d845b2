"""The log contract: pbtxt <-> typed view round trip, and the facts other modules rely on."""

import ast
import os

import pytest
from google.protobuf import text_format

from lt4rec.schemas import contract, names
from lt4rec.schemas.contract import DType, Group, Kind

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pbtxt_round_trips_through_typed_view():
    proto = contract.load_schema_proto()
    view = contract.from_schema_proto(proto)
    back = contract.to_schema_proto(view)
    assert text_format.MessageToString(back) == text_format.MessageToString(proto)
    assert contract.from_schema_proto(back) == view


def test_contract_has_required_columns_in_groups():
    c = contract.load()
    assert c.names == names.LOG_COLUMNS
    assert {f.name for f in c.select(groups=[Group.USER])} == {
        names.USER_ID, names.USER_AGE_BUCKET, names.USER_GENDER, names.USER_RECENT_CLICKS}
    assert {f.name for f in c.select(groups=[Group.ITEM])} == {
        names.ITEM_ID, names.ITEM_CATEGORY, names.ITEM_TAGS, names.VIDEO_LENGTH_S}
    assert {f.name for f in c.select(groups=[Group.CONTEXT])} == {
        names.DAY_OF_WEEK, names.HOUR_OF_DAY, names.SOURCE_PAGE}
    assert [f.name for f in c.labels] == [names.CLICK, names.WATCH_TIME_S]
    assert all(not f.in_serving for f in c.labels)
    assert all(f.in_serving for f in c.model_inputs)


def test_list_features_declare_separator_and_element_type():
    c = contract.load()
    lists = c.select(kinds=[Kind.LIST])
    assert {f.name for f in lists} == {names.USER_RECENT_CLICKS, names.ITEM_TAGS}
    for f in lists:
        assert f.list_separator == "|" and f.list_dtype is DType.INT and not f.required


def test_label_domains():
    c = contract.load()
    assert (c[names.CLICK].min_value, c[names.CLICK].max_value) == (0, 1)
    assert c[names.WATCH_TIME_S].min_value == 0
    assert c[names.VIDEO_LENGTH_S].positive


def test_unknown_column_lookup_names_it():
    with pytest.raises(KeyError, match="no_such_column"):
        contract.load()["no_such_column"]


def test_pbtxt_and_names_must_agree(tmp_path):
    proto = contract.load_schema_proto()
    proto.feature[0].name = "renamed"
    with pytest.raises(ValueError, match="disagree"):
        contract.from_schema_proto(proto)


def test_missing_annotation_is_named():
    proto = contract.load_schema_proto()
    del proto.feature[2].annotation.tag[:]
    with pytest.raises(ValueError, match="user_id.*group"):
        contract.from_schema_proto(proto)


def _string_constants(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
                  and n.body and isinstance(n.body[0], ast.Expr)}
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings}


def test_no_module_outside_schemas_spells_a_column_name():
    columns = set(names.LOG_COLUMNS) | {names.WATCH_RATIO}
    offenders = []
    for top in ("lt4rec", "models", "components", "pipeline", "serving"):
        for dirpath, _, files in os.walk(os.path.join(REPO, top)):
            for f in files:
                if f.endswith(".py"):
                    path = os.path.join(dirpath, f)
                    hits = _string_constants(path) & columns
                    if hits:
                        offenders.append(f"{os.path.relpath(path, REPO)}: {sorted(hits)}")
    assert not offenders, "column names spelt outside schemas/: " + "; ".join(offenders)


def test_watch_ratio_label():
    import numpy as np
    from lt4rec.schemas.labels import watch_ratio
    r = watch_ratio([30.0, 200.0, 5.0, 0.0], [60.0, 100.0, 10.0, 10.0], [1, 1, 0, 1])
    assert r[0] == 0.5 and r[1] == 1.0 and np.isnan(r[2]) and r[3] == 0.0
    from lt4rec.schemas.labels import watch_ratio_column
    column = watch_ratio_column([30.0, 200.0, 5.0], [60.0, 100.0, 10.0], [1, 1, 0])
    assert column.tolist() == [0.5, 1.0, 0.0] and column.dtype == np.float32
