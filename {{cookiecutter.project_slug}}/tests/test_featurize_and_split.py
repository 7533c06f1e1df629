"""Row-wise features and the split by a seeded hash of each row's key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import TABULAR_COLUMNS, TABULAR_TARGET, make_tabular, params_for_tabular

from {{ cookiecutter.package_name }}.core.config import Params
from {{ cookiecutter.package_name }}.core.errors import ConfigError{{ ', DataError' if cookiecutter.task == 'classification' else '' }}
from {{ cookiecutter.package_name }}.data.splitting import (
    SPLITS,
    assign_splits,
    key_columns,
    split_frame,
)
from {{ cookiecutter.package_name }}.features import derive_features


def test_derived_features_are_added_in_order():
    frame = pd.DataFrame({"a": [1.0, 4.0], "b": [2.0, 2.0]})
    result = derive_features(frame, {"ratio": "a / b", "double_ratio": "ratio * 2"})
    assert result["ratio"].tolist() == [0.5, 2.0]
    assert result["double_ratio"].tolist() == [1.0, 4.0]
    assert list(frame.columns) == ["a", "b"]  # the input is left alone


def test_no_derived_features_returns_the_same_columns():
    frame = pd.DataFrame({"a": [1.0]})
    assert list(derive_features(frame, {}).columns) == ["a"]


def test_bad_expression_names_the_feature():
    with pytest.raises(ConfigError, match=r"features\.derived\.ratio = 'a / missing'"):
        derive_features(pd.DataFrame({"a": [1.0]}), {"ratio": "a / missing"})


def test_derived_feature_may_not_overwrite_a_column():
    with pytest.raises(ConfigError, match="overwrite"):
        derive_features(pd.DataFrame({"a": [1.0]}), {"a": "a * 2"})


def split_params(animal: dict | None = None, **split: object) -> Params:
    """Params describing ``tabular``, with ``split`` settings changed; with ``animal``, an
    extra declared column of that name."""
    wanted = ("x", "y", "colour", TABULAR_TARGET)
    columns = {k: v for k, v in TABULAR_COLUMNS.items() if k in wanted}
    columns |= {"animal": animal} if animal else {}
    data = {"raw_path": "raw.csv", "target": TABULAR_TARGET, "na_values": [], "columns": columns}
    sizes = {"test_size": 0.2, "validation_size": 0.2, "key": None, **split}
    return params_for_tabular(data=data, split=sizes)


def ids(part: pd.DataFrame) -> set[float]:
    return set(part["x"])  # x is continuous: it tells the rows apart


def test_split_parts_are_disjoint_complete_and_near_their_fractions():
    frame = make_tabular(3000)
    parts = split_frame(frame, split_params(validation_size=0.1))
    assert set.union(*map(ids, parts.values())) == set(frame["x"])
    assert sum(len(part) for part in parts.values()) == len(frame)
    for name, fraction in [("test", 0.2), ("validation", 0.1), ("train", 0.7)]:
        assert len(parts[name]) / len(frame) == pytest.approx(fraction, abs=0.03)
{%- if cookiecutter.task == 'classification' %}


def test_every_class_gets_each_fraction():
    frame = make_tabular(3000)
    overall = frame["label"].value_counts(normalize=True)
    for part in split_frame(frame, split_params()).values():
        proportions = part["label"].value_counts(normalize=True)
        assert (proportions - overall).abs().max() < 0.06  # 3 standard errors at 600 rows
{%- endif %}


def test_split_is_reproducible_and_seed_dependent(tabular):
    params = split_params()
    first, again = split_frame(tabular, params), split_frame(tabular, params)
    other = split_frame(tabular, params.model_copy(update={"seed": params.seed + 1}))
    pd.testing.assert_frame_equal(first["test"], again["test"])
    assert ids(first["test"]) != ids(other["test"])


def test_rows_keep_their_part_when_new_rows_arrive():
    old, new = make_tabular(2000, seed=1), make_tabular(1000, seed=2)
    grown = pd.concat([new.iloc[:500], old, new.iloc[500:]]).sample(frac=1, random_state=3)
    before, after = split_frame(old, split_params()), split_frame(grown, split_params())
    for name in SPLITS:
        assert ids(before[name]) <= ids(after[name])
    assert all(len(after[name]) > len(before[name]) for name in ("test", "train"))


def test_assignment_does_not_depend_on_partitioning():
    frame, params = make_tabular(1000), split_params()
    key = key_columns(params)
    whole = assign_splits(frame, key, params.split, params.seed)
    pieces = [
        assign_splits(frame.iloc[start : start + 137], key, params.split, params.seed)
        for start in range(0, len(frame), 137)
    ]
    assert (np.concatenate(pieces) == whole).all()


def test_rows_sharing_a_key_share_a_part():
    frame = make_tabular(600).assign(animal=np.arange(600) // 3)  # three rows per animal
    parts = split_frame(frame, split_params(animal={"type": "int"}, key="animal"))
    animals = [set(part["animal"]) for part in parts.values()]
    assert sum(map(len, animals)) == len(set.union(*animals)) == 200


def test_a_key_that_is_not_declared_is_refused():
    with pytest.raises(ConfigError, match=r"split\.key: 'animal' must be one of data\.columns"):
        split_params(key="animal")
    with pytest.raises(ConfigError, match=r"'Animal ID' is the CSV header of 'animal'\): x, y"):
        split_params(animal={"type": "int", "source": "Animal ID"}, key="Animal ID")


def test_a_split_without_validation_rows(tabular):
    parts = split_frame(tabular, split_params(test_size=0.25, validation_size=0.0))
    assert len(parts["validation"]) == 0
    assert len(parts["train"]) + len(parts["test"]) == len(tabular)


@pytest.mark.parametrize(("test_size", "validation_size"), [(0, 0.2), (0.5, 0.5), (1.2, 0)])
def test_impossible_sizes_are_refused(test_size, validation_size):
    with pytest.raises(ConfigError, match=r"split(\.test_size)?: "):
        split_params(test_size=test_size, validation_size=validation_size)
{%- if cookiecutter.task == 'classification' %}


def test_class_too_small_to_split_is_named():
    frame = make_tabular(200).assign(label=["common"] * 199 + ["rare"])
    with pytest.raises(DataError, match=r"1\) in group 'rare' of 'label' to split"):
        split_frame(frame, split_params())
{%- endif %}


def test_the_assignment_follows_values_not_their_storage():
    """pandas 2 and 3 store the same values differently; the parts must not change."""
    frame = pd.DataFrame(
        {
            "count": pd.array([1, 2, None, 4] * 50, dtype="Int64"),
            "seen": pd.to_datetime(["2020-01-02", None, "2021-05-06", "2022-07-08"] * 50),
            "colour": pd.Categorical(["red", "blue", None, "red"] * 50),
            "x": np.arange(200) / 7,
        }
    )
    stored_otherwise = frame.assign(
        count=frame["count"].astype("float64"),
        seen=frame["seen"].astype("datetime64[us]"),
        colour=pd.Categorical(frame["colour"].astype(object), categories=["red", "blue"]),
    )
    key, params = list(frame.columns), split_params()
    parts = assign_splits(frame, key, params.split, params.seed)
    assert (parts == assign_splits(stored_otherwise, key, params.split, params.seed)).all()
    assert set(parts) == {0, 1, 2}
