"""Row-wise features and the seeded, stratified split."""

from __future__ import annotations

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Split, parse
from {{ cookiecutter.package_name }}.core.errors import ConfigError, DataError
from {{ cookiecutter.package_name }}.data import derive_features
from {{ cookiecutter.package_name }}.stages.split import split_frame


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


def sizes(test_size: float, validation_size: float) -> Split:
    config = {"test_size": test_size, "validation_size": validation_size}
    return parse(Split, config, "params.yaml", "split")


def split(frame, stratify=True, seed=7, test_size=0.2, validation_size=0.2):
    return split_frame(frame, "label", sizes(test_size, validation_size), seed, stratify)


def test_split_parts_are_disjoint_and_complete(tabular):
    parts = split(tabular.reset_index())
    ids = [set(part["index"]) for part in parts.values()]
    assert set.union(*ids) == set(range(len(tabular)))
    assert sum(len(i) for i in ids) == len(tabular)
    assert len(parts["test"]) == pytest.approx(0.2 * len(tabular), abs=3)


def test_stratified_split_keeps_class_proportions(tabular):
    overall = tabular["label"].value_counts(normalize=True)
    for part in split(tabular).values():
        proportions = part["label"].value_counts(normalize=True)
        assert (proportions - overall).abs().max() < 0.1


def test_split_is_reproducible_and_seed_dependent(tabular):
    first, again, other = split(tabular), split(tabular), split(tabular, seed=8)
    pd.testing.assert_frame_equal(first["test"], again["test"])
    assert not first["test"].equals(other["test"])


def test_unstratified_split_works_for_a_continuous_target(tabular):
    parts = split_frame(tabular, "amount", sizes(0.25, 0.0), 1, stratify=False)
    assert len(parts["validation"]) == 0
    assert len(parts["train"]) + len(parts["test"]) == len(tabular)


@pytest.mark.parametrize(("test_size", "validation_size"), [(0, 0.2), (0.5, 0.5), (1.2, 0)])
def test_impossible_sizes_are_refused(test_size, validation_size):
    with pytest.raises(ConfigError, match=r"split(\.test_size)?: "):
        sizes(test_size, validation_size)


def test_class_too_small_to_split_is_named():
    frame = pd.DataFrame({"x": range(12), "label": ["common"] * 11 + ["rare"]})
    with pytest.raises(DataError, match="'rare'"):
        split(frame)
