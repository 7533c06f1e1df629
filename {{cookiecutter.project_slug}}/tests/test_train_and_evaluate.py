"""Model building from conf/model/, skops round trips, and evaluation outputs."""

from __future__ import annotations

import json
import os
import pickle
import stat
import zipfile
from math import prod
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    SCORE,
    TABULAR_TARGET,
    OtherLibraryModel,
    make_tabular,
    params_for_tabular,
)
from sklearn.dummy import {{ 'DummyClassifier' if cookiecutter.task == 'classification' else 'DummyRegressor' }}

from {{ cookiecutter.package_name }} import modeling
from {{ cookiecutter.package_name }}.core.compose import compose_params
from {{ cookiecutter.package_name }}.core.config import Model, Tuning
from {{ cookiecutter.package_name }}.core.errors import ConfigError, DataError
from {{ cookiecutter.package_name }}.core.estimators import model_inputs, save_model
from {{ cookiecutter.package_name }}.evaluation.decision import (
    beats_baseline,
    decide,
)
from {{ cookiecutter.package_name }}.evaluation.scoring import (
{%- if cookiecutter.task == 'classification' %}
    Predictions,
{%- endif %}
    baseline_scores,
{%- if cookiecutter.task == 'classification' %}
    class_rows,
{%- endif %}
    evaluate,
{%- if cookiecutter.task == 'classification' %}
    score_predictions,
{%- endif %}
)
from {{ cookiecutter.package_name }}.evaluation.tuning import (
    fit_or_tune,
    search_distributions,
    training_rows,
)
from {{ cookiecutter.package_name }}.metrics import METRICS
from {{ cookiecutter.package_name }}.model_card import fairness
from {{ cookiecutter.package_name }}.modeling import (
    build_estimator,
    build_pipeline,
    load_model,
)

CONF = Path(__file__).resolve().parents[1] / "conf"
MODEL_CHOICES = sorted(path.stem for path in (CONF / "model").glob("*.yaml"))


def sklearn_params():
    """Tabular params naming a scikit-learn model: trust is scikit-learn's list only."""
    return params_for_tabular(model={"_target_": "sklearn.linear_model.Ridge"})


def model_config(choice: str) -> dict:
    return compose_params([f"model={choice}"], config_dir=CONF)["model"]


@pytest.mark.parametrize("choice", MODEL_CHOICES)
def test_every_model_choice_trains_saves_and_loads(choice, tabular, tmp_path, params_with):
    params = params_with(model=model_config(choice))
    model, _, _ = fit_or_tune(tabular, params)
    path = tmp_path / "model.skops"
    save_model(model, path)
    loaded = load_model(path, params)  # fails if a type is missing from TRUSTED_TYPES
    inputs = model_inputs(tabular, params.features)
    assert (loaded.predict(inputs) == model.predict(inputs)).all()
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file was not cleaned up"


def test_model_of_the_wrong_task_is_refused():
    other = "{{ 'sklearn.linear_model.Ridge' if cookiecutter.task == 'classification' else 'sklearn.svm.SVC' }}"
    with pytest.raises(ConfigError, match=f"model._target_ {other} is not a"):
        build_estimator(Model(target=other))


def test_unknown_model_class_is_a_config_error(tabular_params):
    with pytest.raises(ConfigError, match="NoSuchModel' cannot be imported"):
        build_estimator(Model(target="sklearn.linear_model.NoSuchModel"))


def test_a_target_that_is_not_an_estimator_class_is_refused_before_it_is_called(tmp_path):
    made = tmp_path / "made"
    model = Model.model_validate({"_target_": "tempfile.mkdtemp", "dir": str(made)})
    with pytest.raises(ConfigError, match=r"'tempfile\.mkdtemp' is not from a library this"):
        build_estimator(model)
    assert not made.exists()
    shuffle = Model.model_validate({"_target_": "sklearn.utils.shuffle"})  # allowed library
    with pytest.raises(ConfigError, match=r"'sklearn\.utils\.shuffle' is not a scikit-learn est"):
        build_estimator(shuffle)


def test_a_nested_target_that_is_not_an_estimator_is_refused_with_its_key(tmp_path):
    """Hydra builds every nested ``_target_``: each is checked before any is called."""
    victim = tmp_path / "victim.txt"
    victim.write_text("kept")
    opener = {"_target_": "builtins.open", "file": str(victim), "mode": "w"}
    model = Model.model_validate(
        {"_target_": "{{ 'sklearn.ensemble.BaggingClassifier' if cookiecutter.task == 'classification' else 'sklearn.ensemble.BaggingRegressor' }}",
         "random_state": {"_target_": "builtins.len", "_args_": [opener]}}
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"model\.random_state\._target_ 'builtins\.len' is not"):
        build_estimator(model)
    assert victim.read_text() == "kept"
    inner = {"_target_": "{{ 'sklearn.tree.DecisionTreeClassifier' if cookiecutter.task == 'classification' else 'sklearn.tree.DecisionTreeRegressor' }}", "max_depth": 2}
    bagging = build_estimator(model.model_copy(update={"random_state": 0, "estimator": inner}))
    assert bagging.estimator.max_depth == 2  # a nested estimator is still welcome


def test_an_invalid_estimator_argument_names_its_params_key():
{%- if cookiecutter.task == 'classification' %}
    target, argument = "sklearn.linear_model.LogisticRegression", "C"
{%- else %}
    target, argument = "sklearn.linear_model.Ridge", "alpha"
{%- endif %}
    model = Model.model_validate({"_target_": target, argument: -1})
    with pytest.raises(ConfigError, match=rf"params.yaml: model.{argument}: The '{argument}'"):
        build_estimator(model)


def test_the_same_model_saves_to_the_same_bytes_with_normal_permissions(
    tabular, tabular_params, tmp_path, params_with
):
    model, _, _ = fit_or_tune(tabular, params_with(model=model_config(MODEL_CHOICES[0])))
    first, second = tmp_path / "first.skops", tmp_path / "second.skops"
    stale = tmp_path / ".second.skops.killed.tmp"  # left by a killed write
    stale.write_bytes(b"half")
    previous = os.umask(0o022)
    try:
        save_model(model, first)
        save_model(model, second)
    finally:
        os.umask(previous)
    assert first.read_bytes() == second.read_bytes()
    assert stat.S_IMODE(second.stat().st_mode) == 0o644
    assert not stale.exists()
    inputs = model_inputs(tabular, tabular_params.features)
    loaded = load_model(second, params_with(model=model_config(MODEL_CHOICES[0])))
    assert (loaded.predict(inputs) == model.predict(inputs)).all()


@pytest.mark.parametrize(
    "content",
    [b"", b"PK\x03\x04 truncated", pickle.dumps({"a": 1})],
    ids=["empty", "truncated", "pickle"],
)
def test_a_damaged_model_file_is_refused_with_how_to_rebuild_it(tmp_path, content):
    path = tmp_path / "model.skops"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"model.skops is not a readable skops .*dvc repro train"):
        load_model(path, sklearn_params())


def test_rare_and_unseen_categories_share_the_infrequent_column(tabular, tabular_params):
    train = tabular.assign(colour=[*["red", "blue"] * 43, "teal", "teal", "plum", "plum"])
    model, _, _ = fit_or_tune(train, tabular_params)
    encoder = model.named_steps["preprocess"].named_transformers_["categorical"]["encode"]
    assert [set(levels) for levels in encoder.infrequent_categories_] == [{"plum", "teal"}]
    unseen = model_inputs(train.head(3).assign(colour="purple"), tabular_params.features)
    assert len(model.predict(unseen)) == 3  # a level the model never saw still predicts


def test_missing_feature_column_is_named(tabular, params_with):
    params = params_with(features__numeric=["x", "weight"])
    with pytest.raises(DataError, match="'weight'"):
        fit_or_tune(tabular, params)


def test_no_inputs_at_all_is_a_config_error(tabular, params_with):
    params = params_with(features__numeric=[], features__categorical=[])
    with pytest.raises(ConfigError, match=r"features\.numeric and features\.categorical are both"):
        fit_or_tune(tabular, params)


def test_a_training_set_with_nothing_to_learn_is_refused_naming_the_column(tabular, params_with):
    params = params_with()
    one_class = tabular.assign(**{TABULAR_TARGET: tabular[TABULAR_TARGET].iloc[0]})
    with pytest.raises(DataError, match=rf"target '{TABULAR_TARGET}' holds one .* all 90 training"):
        fit_or_tune(one_class, params)
    with pytest.raises(DataError, match=r"input\(s\) 'y' missing in all 90 training rows"):
        fit_or_tune(tabular.assign(y=np.nan), params)


class Unlisted({{ 'DummyClassifier' if cookiecutter.task == 'classification' else 'DummyRegressor' }}):
    """A class nobody added to TRUSTED_TYPES, standing in for a tampered model file."""


def test_untrusted_model_file_is_refused(tabular, tabular_params, tmp_path):
    model = build_pipeline(tabular_params.features, Unlisted())
    model.fit(model_inputs(tabular, tabular_params.features), tabular[tabular_params.data.target])
    path = tmp_path / "model.skops"
    save_model(model, path)
    with pytest.raises(DataError, match=r"not trusted: .*Unlisted"):
        load_model(path, sklearn_params())


def test_a_model_of_another_library_loads_once_the_project_allows_that_library(
    tabular, tabular_params, tmp_path, monkeypatch
):
    inputs, y = model_inputs(tabular, tabular_params.features), tabular[tabular_params.data.target]
    model = build_pipeline(tabular_params.features, OtherLibraryModel()).fit(inputs, y)
    save_model(model, tmp_path / "other.skops")
    its_library = params_for_tabular(model={"_target_": "helpers.OtherLibraryModel"})
    with pytest.raises(ConfigError, match=r"'helpers\.OtherLibraryModel' is not from a library"):
        load_model(tmp_path / "other.skops", its_library)  # naming it in config is not enough
    monkeypatch.setattr(modeling, "MODEL_LIBRARIES", (*modeling.MODEL_LIBRARIES, "helpers"))
    loaded = load_model(tmp_path / "other.skops", its_library)
    assert (loaded.predict(inputs) == model.predict(inputs)).all()
    with pytest.raises(DataError, match=r"holds a helpers\.OtherLibraryModel, but params.yaml"):
        load_model(tmp_path / "other.skops", sklearn_params())  # not the configured model
    tampered = build_pipeline(tabular_params.features, Unlisted()).fit(inputs, y)
    save_model(tampered, tmp_path / "tampered.skops")
    with pytest.raises(DataError, match=r"not trusted: test_train_and_evaluate\.Unlisted"):
        load_model(tmp_path / "tampered.skops", its_library)  # allowed libraries' types only


def crafted_model_file(path: Path, module: str, function: str, argument: str) -> None:
    """A skops file whose loading would call ``module.function(argument)``, as an attacker
    would write one: skops calls a trusted type's constructor with stored arguments."""
    text = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(argument), "is_json": True, "__id__": 1}  # fmt: skip
    arguments = {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                 "content": [text], "__id__": 2}  # fmt: skip
    schema = {"__class__": function, "__module__": module,
              "__loader__": "ConstructorFromReduceNode", "content": arguments, "__id__": 3,
              "protocol": 2, "_skops_version": "0.16.0"}  # fmt: skip
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))


@pytest.mark.parametrize("target", ["posix.system", "builtins.exec", "os.system"])
def test_a_crafted_model_file_beside_a_config_naming_its_function_runs_nothing(target, tmp_path):
    """The hole this closes: trust used to follow the library ``_target_`` named, so a
    params.yaml saying ``posix.system`` beside a crafted file ran a shell command."""
    marker = tmp_path / "ran"
    module, _, function = target.rpartition(".")
    payload = f"open({str(marker)!r}, 'w')" if function == "exec" else f"touch {marker}"
    crafted_model_file(tmp_path / "model.skops", module, function, payload)
    params = params_for_tabular(model={"_target_": target})
    with pytest.raises(ConfigError, match=rf"model._target_ '{target}' is not from a library"):
        load_model(tmp_path / "model.skops", params)
    with pytest.raises(DataError, match=rf"not trusted: {target}"):  # nor with a sound config
        load_model(tmp_path / "model.skops", sklearn_params())
    assert not marker.exists()


def test_a_model_trained_on_other_inputs_than_its_params_list_is_refused(
    tabular, params_with, tmp_path
):
    params = params_with(model=model_config(MODEL_CHOICES[0]))
    model, _, _ = fit_or_tune(tabular, params)
    save_model(model, tmp_path / "model.skops")
    fewer = params_with(model=model_config(MODEL_CHOICES[0]), features__numeric=["x"])
    with pytest.raises(
        DataError, match=r"other inputs than params.yaml lists .*\(trained on 'y' too"
    ):
        load_model(tmp_path / "model.skops", fewer)


def test_a_type_skops_trusts_but_the_project_does_not_list_is_refused(tabular, tmp_path):
    from sklearn.svm import SVC

    model = SVC().fit(tabular[["x"]].fillna(0), tabular["x"].fillna(0) > 0)
    path = tmp_path / "model.skops"
    save_model(model, path)
    with pytest.raises(DataError, match=r"not trusted: sklearn.svm._classes.SVC"):
        load_model(path, sklearn_params())


def test_evaluate_reports_task_metrics_slices_and_plots(tabular, params_with):
    params = params_with(model=model_config("random_forest"))
    train, test = tabular.iloc[:60], tabular.iloc[60:].reset_index(drop=True)
    model, _, _ = fit_or_tune(train, params)
    results = evaluate(model, test, train[TABULAR_TARGET].to_numpy(), params)
    metrics = results["metrics"]
    assert set(metrics) == {*METRICS, "test_rows", "baseline"}  # every metric declared, only those
    assert SCORE in metrics["baseline"] and set(metrics["baseline"]) <= set(METRICS)
    assert metrics["test_rows"] == len(test) and beats_baseline(metrics, SCORE)
    groups = results["slices"]["colour"]["groups"]
    assert sum(group["rows"] for group in groups.values()) == len(test)
    assert results["importance"]["feature"].iloc[0] == "x"  # x drives both targets
{%- if cookiecutter.task == 'classification' %}
    assert len(results["plots"]["confusion.csv"]) == len(test)
    curves = {name for name in results["plots"] if name.startswith("roc/")}
    assert curves == {"roc/high.csv", "roc/low.csv", "roc/mid.csv"}
{%- else %}
    columns = list(results["plots"]["predictions.csv"].columns)
    assert columns == ["actual", "predicted", "residual"]
{%- endif %}


def test_a_sampled_evaluation_ranks_features_as_the_full_one(params_with):
    """Importance and plots on a seeded sample; metrics and slices on every row."""
    frame = make_tabular(4000, seed=1)
    train, test = frame.iloc[:2000], frame.iloc[2000:].reset_index(drop=True)
    full_params = params_with(evaluate__sample_rows=len(test))
    model, _, _ = fit_or_tune(train, full_params)
    y_train = train[TABULAR_TARGET].to_numpy()
    full = evaluate(model, test, y_train, full_params)
    sampled = evaluate(model, test, y_train, params_with(evaluate__sample_rows=300))
    assert sampled["metrics"] == full["metrics"]
    assert sampled["slices"] == full["slices"]
    ranked = [result["importance"].set_index("feature")["importance"] for result in (full, sampled)]
    assert ranked[0].idxmax() == ranked[1].idxmax() == "x"
    assert set(ranked[0][ranked[0] > 0.05].index) == set(ranked[1][ranked[1] > 0.05].index)
    table = "{{ 'confusion.csv' if cookiecutter.task == 'classification' else 'predictions.csv' }}"
    assert (len(full["plots"][table]), len(sampled["plots"][table])) == (len(test), 300)


{%- if cookiecutter.task == 'classification' %}


def test_scores_from_label_codes_equal_scores_from_the_labels(tabular, tabular_params):
    """Scoring encodes class labels as integers for speed; the figures must not move."""
    from sklearn import metrics

    from {{ cookiecutter.package_name }}.evaluation.scoring import (
        predict,
        score_predictions,
    )

    model, _, _ = fit_or_tune(tabular.iloc[:60], tabular_params)
    test = tabular.iloc[60:]
    inputs, y_true = model_inputs(test, tabular_params.features), test["label"].to_numpy()
    scores = score_predictions(y_true, predict(model, inputs))
    y_pred, y_proba = model.predict(inputs), model.predict_proba(inputs)
    assert scores["f1_macro"] == round(metrics.f1_score(y_true, y_pred, average="macro"), 6)
    assert scores["log_loss"] == round(metrics.log_loss(y_true, y_proba, labels=model.classes_), 6)
    auc = metrics.roc_auc_score(y_true, y_proba, multi_class="ovr", labels=model.classes_)
    assert scores["roc_auc_ovr"] == round(auc, 6)
    balanced = metrics.balanced_accuracy_score(y_true, y_pred)
    assert scores["balanced_accuracy"] == pytest.approx(balanced, abs=1e-6)
{%- endif %}


def tuning_config(enabled: bool = True) -> Tuning:
    scoring = "{{ 'accuracy' if cookiecutter.task == 'classification' else 'r2' }}"
    return Tuning(enabled=enabled, candidates=4, folds=3, scoring=scoring)


@pytest.mark.parametrize("choice", MODEL_CHOICES)
def test_tuning_searches_the_declared_space_and_records_every_candidate(
    choice, tabular, params_with
):
    config = few_rounds(model_config(choice))
    params = params_with(model=config, tuning=tuning_config().model_dump(), seed=0)
    model, summary, candidates = fit_or_tune(tabular, params)
    assert summary["enabled"] is True
    assert set(summary["best_params"]) == set(config["search_space"])
    assert len(candidates) == summary["candidates"] == min(4, candidates_possible(config))
    assert candidates["rank"].min() == 1
    assert candidates["mean_score"].max() == pytest.approx(summary["best_cv_score"])
    chosen = model.named_steps["estimator"].get_params()
    assert all(chosen[name] == value for name, value in summary["best_params"].items())


def few_rounds(config: dict) -> dict:
    """The same search space with fewer boosting rounds and trees: this test is the search."""
    space = dict(config["search_space"])
    if "n_estimators" in space:
        space["n_estimators"] = {"low": 5, "high": 20, "type": "int"}
    rounds = {"max_iter": 20} if "HistGradientBoosting" in config["_target_"] else {}
    return {**config, **rounds, "search_space": space}


def candidates_possible(config: dict) -> int:
    """RandomizedSearchCV samples without repeats when every dimension is a list."""
    space = config["search_space"].values()
    if all(isinstance(values, list) for values in space):
        return prod(len(values) for values in space)
    return 10**6


def test_tuning_off_fits_without_searching(tabular, params_with):
    params = params_with(tuning=tuning_config(False).model_dump())
    _, summary, candidates = fit_or_tune(tabular, params)
    assert summary == {"enabled": False}
    assert candidates.empty
    assert list(candidates.columns) == ["candidate", "rank", "mean_score", "std_score"]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({}, "declares no search_space"),
        ({"C": {"low": 5, "high": 1}}, r"search_space\.C needs low < high"),
        ({"C": {"low": 0, "high": 1, "log": True}}, r"low > 0 with log"),
        ({"C": "wide"}, r"search_space\.C must be a list of values or a mapping"),
    ],
)
def test_bad_search_space_is_named(space, message):
    with pytest.raises(ConfigError, match=message):
        search_distributions(space)


def test_fairness_check_compares_unbounded_metrics_relative_to_the_whole():
{%- if cookiecutter.task == 'classification' %}
    bounded, unbounded = "f1_macro", "log_loss"
{%- else %}
    bounded, unbounded = "r2", "rmse"  # rmse is in the target's unit
{%- endif %}

    def fairness_of(gaps: dict, overall: dict) -> str:
        """The card's fairness text for slice gaps, as evaluate decides them."""
        slices = {column: {"groups": {}, "largest_gap": gap} for column, gap in gaps.items()}
        results = {"metrics": {**overall, "test_rows": 100}, "slices": slices}
        return fairness(decide(results, SCORE, 0.1))

    overall = {bounded: 0.8, unbounded: 400.0}
    large_values = fairness_of({"site": {bounded: 0.05, unbounded: 30.0}}, overall)
    assert large_values.startswith("No metric differs")  # 30 of 400: 7.5 %
    small = fairness_of({"site": {unbounded: 0.12}}, {unbounded: 0.4})
    assert f"`site`: {unbounded} differs by 30% of its test value" in small
    gap = fairness_of({"site": {bounded: 0.15}}, {bounded: 0.8})
    assert f"`site`: {bounded} differs by 0.15 between groups" in gap
    assert fairness_of({}, {bounded: 0.8}).startswith("No slice is set")


def test_a_row_budget_fits_on_a_seeded_sample_in_split_order(params_with):
    train = make_tabular(1_000).reset_index(names="row")
    params = params_with(compute__max_train_rows=200)
    sample = training_rows(train, params)
    assert len(sample) == 200
    assert sample["row"].is_monotonic_increasing  # the split's order, not the draw's
    assert sample.equals(training_rows(train, params))  # seeded
{%- if cookiecutter.task == 'classification' %}
    target = params.data.target  # each class in its share of the whole, to a row
    expected = train[target].value_counts(normalize=True) * 200
    assert (sample[target].value_counts() - expected).abs().max() <= 1
{%- endif %}
    assert training_rows(train, params_with(compute__max_train_rows=1_000)) is train
    assert training_rows(train, params_with()) is train  # no budget: every row


{%- if cookiecutter.task == 'classification' %}


def test_the_baseline_is_the_majority_class_and_a_rare_class_is_counted():
    """94 % one class: accuracy flatters any model; the baseline and per-class rows say so."""
    y_train = np.array(["ok"] * 94 + ["fraud"] * 6, dtype=object)
    y_true = np.array(["ok"] * 47 + ["fraud"] * 3, dtype=object)
    baseline = baseline_scores(y_train, y_true)
    assert baseline["accuracy"] == 0.94 and baseline["balanced_accuracy"] == 0.5
    everything_ok = Predictions(np.array(["ok"] * 50, dtype=object))
    scores = {**score_predictions(y_true, everything_ok), "baseline": baseline}
    assert scores["accuracy"] == 0.94 and not beats_baseline(scores, "accuracy")
    rows = {row["class"]: row for row in class_rows(y_true, everything_ok)}
    assert (rows["fraud"]["rows"], rows["fraud"]["recall"]) == (3, 0)
{%- else %}


def test_the_baseline_is_the_training_mean():
    y_train, y_true = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0])
    baseline = baseline_scores(y_train, y_true)
    assert baseline["mae"] == 1.0  # |2 - 2| and |4 - 2|, averaged
    scores = {"mae": 1.5, "baseline": baseline}
    assert beats_baseline(scores, "mae") is False
    assert beats_baseline({**scores, "mae": 0.5}, "mae") is True
{%- endif %}
