"""Prediction, drift, promotion and the API's request model, on hand-built data."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
import pytest
from helpers import (
    HOSTILE,
    LOSS,
    SCORE,
    TABULAR_TARGET,
    assert_markdown_holds,
    assert_self_contained,
    chart_sizes,
    git,
    make_tabular,
    outside_code,
)

from {{ cookiecutter.package_name }}.core.actions import set_output
from {{ cookiecutter.package_name }}.core.config import Limit, Monitor, Params
from {{ cookiecutter.package_name }}.core.errors import DataError, PipelineError
from {{ cookiecutter.package_name }}.core.estimators import model_inputs
from {{ cookiecutter.package_name }}.data.drift import compare, profile, psi
from {{ cookiecutter.package_name }}.data.schema import RawSchema
from {{ cookiecutter.package_name }}.evaluation.scoring import (
    predict,
    score_predictions,
)
from {{ cookiecutter.package_name }}.evaluation.tuning import fit_or_tune
from {{ cookiecutter.package_name }}.metrics import METRICS
from {{ cookiecutter.package_name }}.ops import serve
from {{ cookiecutter.package_name }}.ops.batches import batch_files
from {{ cookiecutter.package_name }}.ops.champion import decide
from {{ cookiecutter.package_name }}.ops.drift_page import drift_page
from {{ cookiecutter.package_name }}.ops.guard import UVICORN_VERSIONS, check_uvicorn
from {{ cookiecutter.package_name }}.ops.history import read_history
from {{ cookiecutter.package_name }}.ops.monitor import (
    bounded_labels,
    drift_report,
    reasons,
    to_markdown,
)
from {{ cookiecutter.package_name }}.ops.performance import (
    performance,
    resampled_scores,
)
from {{ cookiecutter.package_name }}.ops.predict import predict_frame
from {{ cookiecutter.package_name }}.ops.release import gto_show, read_bundle
from {{ cookiecutter.package_name }}.ops.retrain import (
    Batch,
    all_or_nothing,
    already_appended,
    append_rows,
    branch_name,
    keep,
    read_record,
    restore,
)
from {{ cookiecutter.package_name }}.ops.serve import Batcher, record_model
from {{ cookiecutter.package_name }}.stages.profile import reference_profile

THRESHOLDS = Monitor(
    bins=10, psi_threshold=0.2, p_value=0.001, missing_rate_increase=0.1, min_rows=100
)
DERIVED = {"x_plus_y": "x + y"}


def inputs_schema(params: Params) -> RawSchema:
    return RawSchema.of(params.data, inputs_only=True)


def as_raw(frame: pd.DataFrame) -> pd.DataFrame:
    """A clean frame back in the raw CSV's shape: source headers, values as text."""
    renamed = frame.rename(columns={"x": "X value", "y": "Y value", "colour": "Colour"})
    return renamed[["X value", "Y value", "Colour"]].astype(str)


@pytest.fixture
def fitted(tabular, params_with):
    """A model on x, y, a derived x_plus_y and colour, and the params that describe it."""
    params = params_with(
        features={"derived": DERIVED, "numeric": ["x", "y", "x_plus_y"], "categorical": ["colour"]}
    )
    model, _, _ = fit_or_tune(tabular.assign(x_plus_y=tabular.x + tabular.y), params)
    return model, params


def test_batch_predictions_follow_the_training_code_path(tabular, fitted):
    model, params = fitted
    schema = inputs_schema(params)
    predictions = predict_frame(model, as_raw(tabular), schema, params, "batch.csv", "v1")
    inputs = tabular.assign(x_plus_y=tabular.x + tabular.y)[["x", "y", "x_plus_y", "colour"]]
    assert list(predictions["prediction"]) == list(model.predict(inputs))
    assert list(predictions["line"]) == list(range(2, len(tabular) + 2))
{%- if cookiecutter.task == 'classification' %}
    probabilities = predictions.filter(like="probability_").to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1.0)
{%- endif %}
    assert set(predictions["model_version"]) == {"v1"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw.drop(columns=["Colour"]), r"missing column\(s\) 'Colour'"),
        (lambda raw: raw.assign(**{"X value": "big"}), r"'X value' fails not float: 'big'"),
        (lambda raw: raw.assign(Colour="purple"), "column 'Colour' fails isin"),
    ],
    ids=["missing column", "wrong type", "unknown category"],
)
def test_batch_prediction_refuses_bad_rows_naming_column_and_line(tabular, fitted, change, message):
    model, params = fitted
    with pytest.raises(DataError, match=message) as error:
        predict_frame(
            model, change(as_raw(tabular)), inputs_schema(params), params, "batch.csv", "v1"
        )
    assert "batch.csv" in str(error.value)


def test_psi_is_zero_for_equal_distributions_and_large_for_a_shift():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert psi([0.5, 0.5], [0.9, 0.1]) > 0.2


@pytest.fixture
def reference(tabular) -> dict:
    """The reference profile of ``tabular``'s x and colour, and of its labels."""
    return {
        "rows": len(tabular),
        "features": {
            "x": profile(tabular.x, False, 10, 0),
            "colour": profile(tabular.colour, True, 10, 0),
        },
        "prediction": profile(tabular.label, True, 10, 0),
    }


def test_drift_report_flags_a_shifted_column_and_not_a_resample(tabular, reference):
    resample = tabular.sample(len(tabular), replace=True, random_state=2)
    same = drift_report(resample, resample.label.reset_index(drop=True), reference, THRESHOLDS)
    assert same["status"] == "ok", same
    shifted = resample.assign(x=resample.x + 3, colour="red")
    drifted = drift_report(shifted, resample.label.reset_index(drop=True), reference, THRESHOLDS)
    assert drifted["drifted_columns"] == ["colour", "x"]
    assert not drifted["prediction_drift"]


def test_a_hostile_batch_name_and_category_stay_inert_in_the_drift_report(tabular, reference):
    shifted = tabular.assign(colour=HOSTILE)  # a new level: named in the reasons
    report = drift_report(shifted, tabular.label, reference, THRESHOLDS)
    report["schema_violations"], report["invalid_rows"] = [f"line 2: {HOSTILE}"], 1
    markdown = to_markdown(Path(f"data/batches/{HOSTILE.splitlines()[0]}.csv"), report)
    assert_markdown_holds(markdown)
    page = drift_page(Path("data/batches/x.csv"), report)
    assert "<script" not in page and "@everyone" not in outside_code(markdown)


def test_the_drift_page_leads_with_the_verdict_and_draws_each_input_offline(tabular, reference):
    shifted = tabular.assign(x=tabular.x + 3, colour="red")
    report = drift_report(shifted, tabular.label, reference, THRESHOLDS)
    colours = report["columns"]["colour"]["distribution"]
    assert dict(zip(colours["bins"], colours["batch"], strict=True))["red"] == 1.0
    page = drift_page(Path("data/batches/new.csv"), report)
    assert page.index("Status: <strong>drift</strong>") < page.index("<svg")
    assert "2 of 2 inputs drifted (colour, x); predictions stable" in page
    sections = re.findall(r"<h2>(.*?)</h2>", page)
    assert sections == ["predictions: no drift", "x: drift", "colour: drift"]
    sizes = chart_sizes(page)
    assert len(sizes) == 3 and all(width > 0 and height > 0 for width, height in sizes)
    assert_self_contained(page)
    assert len(page) < 500_000


def test_on_a_large_batch_a_significant_but_negligible_shift_is_not_drift(tabular):
    reference = profile(pd.Series(["red"] * 500_000 + ["blue"] * 500_000), True, 10, 0)
    tiny = pd.Series(["red"] * 505_000 + ["blue"] * 495_000)  # 50.5 % red instead of 50 %
    result = compare(reference, tiny)
    assert result["p_value"] < THRESHOLDS.p_value and result["psi"] < THRESHOLDS.min_psi
    assert reasons(result, THRESHOLDS) == []
    real = pd.Series(["red"] * 650_000 + ["blue"] * 350_000)  # 65 % red: PSI about 0.09
    assert THRESHOLDS.min_psi <= compare(reference, real)["psi"] < THRESHOLDS.psi_threshold
    assert [r.split(" p-value")[0] for r in reasons(compare(reference, real), THRESHOLDS)] == [
        "chi-squared"
    ]


def test_reasons_name_new_categories_and_missing_values(tabular):
    reference = profile(tabular.colour, True, 10, 0)
    batch = pd.Series(["red", "teal", None, None, None, "blue"] * 5)
    found = reasons(compare(reference, batch), THRESHOLDS)
    assert "33.3% of values in categories unseen in training: teal" in found
    assert any(reason.startswith("missing values up by") for reason in found)
    one_new = pd.concat([tabular.colour.iloc[:80], pd.Series(["teal"])])  # one in 81: noise
    assert reasons(compare(reference, one_new), THRESHOLDS) == []


def training_like(rows: int, seed: int) -> pd.DataFrame:
    """A training split's shape: skewed and normal numbers, gaps, an uneven category."""
    rng = np.random.default_rng(seed)
    mass = rng.normal(4200, 800, rows)
    return pd.DataFrame(
        {
            "mass": mass,
            "ratio": np.where(rng.random(rows) < 0.04, np.nan, rng.lognormal(1, 0.3, rows)),
            "island": rng.choice(["Biscoe", "Dream", "Torgersen"], rows, p=[0.5, 0.35, 0.15]),
            "sex": rng.choice(["female", "male", None], rows, p=[0.48, 0.48, 0.04]),
{%- if cookiecutter.task == 'classification' %}
            "label": np.where(mass > 4200, "large", "small"),
{%- else %}
            "label": mass / 20 + rng.normal(0, 5, rows),  # a predicted number
{%- endif %}
        }
    )


def test_monitor_rarely_cries_wolf_and_always_catches_a_real_shift():
    """Over 100 seeded batches: drawn from the training data, at most 5 are flagged;
    with a numeric column scaled by 1.3 or a category gone, every one is."""
    training = training_like(250, seed=0)
    reference = reference_profile(
        training.drop(columns="label"), training.label, ["island", "sex"], 10, 0
    )

    def status(batch: pd.DataFrame) -> str:
        batch = batch.reset_index(drop=True)
        return drift_report(batch, batch.label, reference, THRESHOLDS)["status"]

    def draw(rows: int, seed: int, frame: pd.DataFrame = training) -> pd.DataFrame:
        return frame.sample(rows, replace=True, random_state=seed)

    alarms = {rows: sum(status(draw(rows, s)) != "ok" for s in range(100)) for rows in (20, 200)}
    scaled = sum(status(draw(200, s).assign(mass=lambda f: f.mass * 1.3)) == "drift"
                 for s in range(100))  # fmt: skip
    no_dream = training[training.island != "Dream"]
    removed = sum(status(draw(200, s, no_dream)) == "drift" for s in range(100))
    print(f"false alarms per 100: {alarms}; caught per 100: x1.3 {scaled}, removed {removed}")
    assert alarms[20] <= 5 and alarms[200] <= 5
    assert scaled == 100 and removed == 100


def test_psi_waits_for_values_and_many_levels_do_not_cry_wolf():
    """A table with a 98-level category and a numeric column missing on 85 % of rows:
    of 100 seeded batches of 300 rows drawn from it, at most 5 are flagged, and PSI is
    not judged on the gappy column's ~45 values; a real shift in either is still caught."""
    rng = np.random.default_rng(7)
    rows = 5000
    weights = 1 / np.arange(1, 99)  # a few common countries, a long tail of rare ones
    training = pd.DataFrame(
        {
            "country": rng.choice([f"c{i}" for i in range(98)], rows, p=weights / weights.sum()),
            "gappy": np.where(rng.random(rows) < 0.85, np.nan, rng.normal(50, 10, rows)),
            "label": rng.normal(size=rows),
        }
    )
    inputs = training[["country", "gappy"]]
    reference = reference_profile(inputs, training.label, ["country"], 10, 0)

    def report(batch: pd.DataFrame) -> dict:
        batch = batch.reset_index(drop=True)
        return drift_report(batch, batch.label, reference, THRESHOLDS)

    draws = [report(training.sample(300, replace=True, random_state=s)) for s in range(100)]
    assert sum(draw["status"] != "ok" for draw in draws) <= 5
    assert all(draw["psi_unjudged"] == ["gappy"] for draw in draws)
    shifted = training.assign(gappy=training.gappy + 15, country="c0")
    flagged = [report(shifted.sample(300, replace=True, random_state=s)) for s in range(20)]
    assert all(set(draw["drifted_columns"]) == {"country", "gappy"} for draw in flagged)


def noisy_tabular(rows: int, seed: int) -> pd.DataFrame:
    """``tabular`` with a fifth of the labels drawn at random and a noisy amount: a model
    that is good, not perfect, as real ones are."""
    frame = make_tabular(rows, seed)
    rng = np.random.default_rng(seed + 100)
    flipped = rng.random(rows) < 0.2
    frame.loc[flipped, "label"] = rng.choice(["high", "mid", "low"], flipped.sum())
    return frame.assign(amount=frame.amount + rng.normal(scale=2.0, size=rows))


def test_performance_on_labelled_batches_rarely_cries_wolf_and_catches_wrong_labels(params_with):
    """Over 100 seeded batches drawn from a test split: at most 5 flagged at 50 rows and
    at 500; with the batch's labels permuted, at least 95 of 100 flagged at 50 rows."""
    params = params_with()
    model, _, _ = fit_or_tune(noisy_tabular(400, seed=0), params)
    test = noisy_tabular(200, seed=1)
    predicted = predict(model, model_inputs(test, params.features))
    test_scores = score_predictions(test[TABULAR_TARGET].to_numpy(), predicted)
    name, rng = params.review.primary_metric, np.random.default_rng(0)

    def status(rows: int, seed: int, permuted: bool = False) -> str:
        picked = rng.integers(0, len(test), rows)
        labels = test[TABULAR_TARGET].to_numpy()[picked]
        labels = rng.permutation(labels) if permuted else labels
        batch = pd.Series(labels)
        found = performance(batch, predicted.take(picked), test_scores, name, THRESHOLDS, seed)
        return found["status"]

    alarms = {rows: sum(status(rows, s) != "ok" for s in range(100)) for rows in (50, 500)}
    caught = sum(status(50, s, permuted=True) == "dropped" for s in range(100))
    print(f"{name}: false alarms per 100: {alarms}; permuted labels caught: {caught}")
    assert alarms[50] <= 5 and alarms[500] <= 5
    assert caught >= 95
{%- if cookiecutter.task == 'classification' %}


# Metrics of probabilities are scored by scikit-learn per resample: nothing to compare.
RESAMPLED_AT_ONCE = sorted(set(METRICS) - {"log_loss", "roc_auc_ovr"})
{%- else %}


RESAMPLED_AT_ONCE = sorted(METRICS)
{%- endif %}


@pytest.mark.parametrize("name", RESAMPLED_AT_ONCE)
def test_resampled_scores_match_resampling_the_rows_one_by_one(name, params_with):
    """Resampling all at once (as counts or weights) gives the bootstrap distribution
    that scoring each resample of the rows with scikit-learn gives."""
    params = params_with()
    model, _, _ = fit_or_tune(noisy_tabular(400, seed=0), params)
    test = noisy_tabular(80, seed=2)
    y_true = test[TABULAR_TARGET].to_numpy()
    predicted = predict(model, model_inputs(test, params.features))
    fast = resampled_scores(y_true, predicted, name, 2000, seed=0)
    rng = np.random.default_rng(1)
    one_by_one = []
    for _ in range(300):
        rows = rng.integers(0, len(y_true), len(y_true))
        one_by_one.append(score_predictions(y_true[rows], predicted.take(rows), [name])[name])
    quantiles = [0.1, 0.5, 0.9]
    spread = np.subtract(*np.nanquantile(one_by_one, [0.9, 0.1]))
    gap = np.abs(np.nanquantile(fast, quantiles) - np.nanquantile(one_by_one, quantiles))
    assert (gap < 0.25 * spread).all(), (name, gap, spread)


LIMITS = {SCORE: Limit(max_drop=0.01), LOSS: Limit(max_rise=0.05)}


@pytest.mark.parametrize(
    ("champion", "challenger", "wins"),
    [
        (None, {SCORE: 0.5, LOSS: 1.0}, True),
        ({SCORE: 0.8, LOSS: 0.3}, {SCORE: 0.9, LOSS: 0.2}, True),
        ({SCORE: 0.8, LOSS: 0.3}, {SCORE: 0.8, LOSS: 0.3}, True),
        ({SCORE: 0.8, LOSS: 0.3}, {SCORE: 0.7, LOSS: 0.2}, False),
        ({SCORE: 0.8, LOSS: 0.3}, {SCORE: 0.85, LOSS: 0.9}, False),
    ],
    ids=["first", "better", "tie", "worse", "breaks a limit"],
)
def test_challenger_must_match_the_primary_metric_and_keep_the_limits(champion, challenger, wins):
    assert decide(champion, challenger, SCORE, LIMITS)[0] is wins


def test_a_primary_metric_where_lower_is_better_wins_by_falling():
    champion = {SCORE: 0.8, LOSS: 0.3}
    assert decide(champion, {SCORE: 0.8, LOSS: 0.29}, LOSS, {})[0] is True
    wins, reason, _ = decide(champion, {SCORE: 0.8, LOSS: 0.31}, LOSS, {})
    assert not wins and reason == f"{LOSS} 0.31 is worse than the champion's 0.3"


def test_a_challenger_evaluate_found_below_the_baseline_is_refused_even_with_no_champion():
    wins, reason, _ = decide(None, {SCORE: 0.9}, SCORE, {}, beats_baseline=False)
    assert not wins
    assert reason == f"it does not beat the baseline on {SCORE} (reports/decision.json)"
    assert decide(None, {SCORE: 0.9}, SCORE, {}, beats_baseline=None)[0] is True  # not measured


def test_request_model_checks_each_field_against_the_schema(params_with):
    params = params_with(data__unread_columns=["Notes"])
    Record = record_model(params.data)
    record = Record.model_validate({"X value": 1.5, "Colour": "red", "Notes": "ignored"})
    assert record.model_dump(by_alias=True) == {"X value": 1.5, "Y value": None, "Colour": "red"}
    with pytest.raises(pydantic.ValidationError) as error:
        Record.model_validate({"X value": 99, "Y value": "tall", "Colour": "purple"})
    assert {"X value", "Y value", "Colour"} <= {e["loc"][0] for e in error.value.errors()}
    with pytest.raises(pydantic.ValidationError, match="X value"):
        Record.model_validate({"Colour": "red"})


def test_request_model_refuses_unknown_keys_and_empty_records(tabular_params):
    data = tabular_params.data
    optional_x = data.columns["x"].model_copy(update={"required": False})
    Record = record_model(data.model_copy(update={"columns": {**data.columns, "x": optional_x}}))
    target = data.columns[TABULAR_TARGET].source
    assert Record.model_validate({"X value": 1.5, target: "anything"})  # a raw row's label
    with pytest.raises(pydantic.ValidationError) as error:
        Record.model_validate({"X valeu": 1.5, "Colour": "red"})
    assert [(e["loc"], e["type"]) for e in error.value.errors()] == [
        (("X valeu",), "extra_forbidden")
    ]
    assert serve.explained(error.value.errors(), ["X value", "Colour"])[0]["msg"].startswith(
        "unknown column 'X valeu': did you mean 'X value'?"
    )
    with pytest.raises(pydantic.ValidationError, match="no column of the model's data"):
        Record.model_validate({})


def test_request_model_reads_the_files_missing_value_markers_as_missing(params_with):
    Record = record_model(params_with(data__na_values=["NA", ""]).data)
    record = Record.model_validate({"X value": "1.5", "Y value": "NA", "Colour": ""})
    assert record.model_dump(by_alias=True) == {"X value": 1.5, "Y value": None, "Colour": None}
    with pytest.raises(pydantic.ValidationError, match="X value"):  # required: never missing
        Record.model_validate({"X value": "NA", "Colour": "red"})
    with pytest.raises(pydantic.ValidationError, match="Y value"):  # only the file's markers
        Record.model_validate({"X value": 1.5, "Y value": "n/a", "Colour": "red"})


def test_concurrent_requests_are_predicted_together_and_a_bad_one_fails_alone():
    calls = []

    def predict(rows: list[dict]) -> list[dict]:
        calls.append(len(rows))
        if any(row["x"] < 0 for row in rows):
            raise DataError("x must not be negative")
        return [{"prediction": row["x"] * 10} for row in rows]

    async def requests() -> list:
        batcher = Batcher(predict)
        bodies = [[{"x": 1}], [{"x": 2}, {"x": 3}], [{"x": -1}], [{"x": 4}]]
        return await asyncio.gather(
            *(batcher.submit(body) for body in bodies), return_exceptions=True
        )

    first, second, bad, last = asyncio.run(requests())
    assert (first, second, last) == (
        [{"prediction": 10}],
        [{"prediction": 20}, {"prediction": 30}],
        [{"prediction": 40}],
    )
    assert isinstance(bad, DataError)
    assert calls[0] == 5  # all four requests were queued before the first pass: one call
    assert sum(calls[1:]) == 5  # after it failed, every row was predicted again, once


def test_a_batch_is_appended_as_written_in_the_raw_files_dialect(tmp_path, params_with):
    """After the header (quoted, over two lines) and without the batch's BOM; the raw
    file's last row, which has no line end, gets one first."""
    data = params_with(data__delimiter=";").data
    raw, batch = tmp_path / "raw.csv", tmp_path / "batch.csv"
    raw.write_bytes(b'X;"Note\nlong"\r\n1;a\r\n2;b')
    batch.write_bytes('\ufeffX;"Note\nlong"\n3;"two\nlines"\n4;d'.encode())
    append_rows(raw, [Batch(batch, "md5")], data)
    assert raw.read_bytes() == b'X;"Note\nlong"\r\n1;a\r\n2;b\n3;"two\nlines"\n4;d\n'


# --- hardening: batch files, state that changes together, admission, strict types --------


def test_batch_files_come_in_natural_order_and_odd_entries_are_refused_unopened(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "batches"
    folder.mkdir()
    for name in ["batch-10.csv", "batch-9.csv", "upper.CSV", ".~lock.batch-9.csv", "notes.txt"]:
        (folder / name).write_text("a\n1\n")
    assert [p.name for p in batch_files(folder)] == ["batch-9.csv", "batch-10.csv", "upper.CSV"]
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("secret\n")
    odd = {
        "fifo.csv": (lambda path: os.mkfifo(path), "a FIFO (named pipe), not a CSV file"),
        "folder.csv": (lambda path: path.mkdir(), "a directory, not a CSV file"),
        "dangling.csv": (lambda path: path.symlink_to(tmp_path / "gone.csv"), "does not exist"),
        "out.csv": (lambda path: path.symlink_to(outside), "outside the project; it was not"),
    }
    for name, (make, message) in odd.items():
        make(folder / name)
        with pytest.raises(DataError, match=re.escape(message)):
            batch_files(folder)  # a FIFO would block here if it were opened
        (folder / name).rmdir() if name == "folder.csv" else (folder / name).unlink()


def test_state_files_change_together_or_not_at_all(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw, record = tmp_path / "raw.csv", tmp_path / "record.csv"
    raw.write_bytes(b"a\n1\n")
    record.write_bytes(b"batch\n")
    journal = tmp_path / "journal"
    with pytest.raises(RuntimeError), all_or_nothing([raw, record, tmp_path / "new"], journal):
        raw.write_bytes(b"a\n1\n2\n")  # in place: a small file is copied, not linked
        (tmp_path / "new").write_text("made")
        raise RuntimeError("dvc add failed")
    assert (raw.read_bytes(), record.read_bytes()) == (b"a\n1\n", b"batch\n")
    assert not (tmp_path / "new").exists() and not journal.exists()
    # SIGTERM inside is an interruption like Ctrl-C: the same bytes come back.
    with pytest.raises(KeyboardInterrupt), all_or_nothing([raw, record], journal):
        record.write_bytes(b"changed\n")
        os.kill(os.getpid(), signal.SIGTERM)
    assert record.read_bytes() == b"batch\n"
    # A kill leaves the sealed journal: the next run puts the old bytes back first.
    keep([raw, record], journal)
    tmp = tmp_path / ".raw.csv.new"
    tmp.write_bytes(b"half")
    os.replace(tmp, raw)  # as append_rows renames its new version in
    assert restore(journal) and raw.read_bytes() == b"a\n1\n" and not journal.exists()
    assert not restore(journal)
    # A large raw file is kept by a hard link (no copy of gigabytes); renamed over, it
    # keeps the old bytes for the journal.
    large = b"a\n" + b"1\n" * 600_000
    raw.write_bytes(large)
    keep([raw], journal)
    assert (journal / "0").stat().st_ino == raw.stat().st_ino
    tmp.write_bytes(b"a\nnew\n")
    os.replace(tmp, raw)
    assert restore(journal) and raw.read_bytes() == large


def test_rows_already_appended_are_recognised_without_the_record(tmp_path):
    raw = tmp_path / "raw.csv"
    raw.write_bytes(b"a,b\n1,x\n2,y\n3,z\n")
    assert already_appended(raw, b"2,y\n3,z\n")
    assert not already_appended(raw, b"2,y\n4,w\n")
    assert not already_appended(raw, b",y\n3,z\n")  # not whole lines


def test_a_step_output_holding_a_newline_cannot_forge_another(tmp_path, monkeypatch):
    output = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    set_output("title", "Retrain with x.csv\nbranch=main")
    set_output("branch", "retrain/x-1234abcd")
    lines = output.read_text().splitlines()
    assert lines[0].startswith("title<<EOF_") and lines[3] == lines[0].split("<<")[1]
    assert "branch=main" in lines and lines[4].startswith("branch<<")  # inside the value


def test_retrain_branch_names_are_valid_ascii_and_differ_per_batch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, md5 in [("x.lock.csv", "1" * 32), ("a..b.csv", "2" * 32), (".hidden.csv", "3" * 32),
                      ("données été.csv", "4" * 32), ("日本.csv", "5" * 32)]:  # fmt: skip
        branch = branch_name(Batch(Path(name), md5))
        assert re.fullmatch(r"retrain/[a-z0-9-]+-[0-9a-f]{8}", branch), branch
        assert branch.endswith(md5[:8])


def test_admission_refuses_a_request_beyond_the_limit_at_once():
    async def scenario() -> list:
        admission, seen = serve.Admission(limit=1), []
        async with admission.place() as first, admission.place() as second:  # both at once
            seen += [first, second, admission.busy()]
        async with admission.place() as third:  # the first is done: there is room again
            seen.append(third)
        return seen

    first, second, busy, third = asyncio.run(scenario())
    assert (first, second, third) == (True, False, True)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"


def test_a_boolean_is_not_a_number_in_a_request(params_with):
    Record = record_model(params_with().data)
    with pytest.raises(pydantic.ValidationError, match="expected a number, not true or false"):
        Record.model_validate({"X value": True, "Colour": "red"})
    assert Record.model_validate({"X value": 1, "Colour": "red"})


def test_a_batch_whose_labels_are_all_blank_is_not_measured(tabular, fitted):
    model, params = fitted
    blank = pd.Series([None] * len(tabular), dtype=object)
    rows = tabular.assign(x_plus_y=tabular.x + tabular.y)
    predicted = predict(model, model_inputs(rows, params.features))
    result = performance(blank, predicted, {SCORE: 0.9}, SCORE, THRESHOLDS, 0)
    assert result == {"metric": SCORE, "labelled_rows": 0, "status": "not measured"}


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--port", "99999"], "--port: a whole number from 1 to 65535, not '99999'"),
        (["--max-records", "-5"], "--max-records: a whole number of at least 1, not '-5'"),
        (["--max-records", "0"], "--max-records: a whole number of at least 1, not '0'"),
        (["--max-body-bytes", "-1"], "--max-body-bytes: a whole number of at least 1"),
        (["--max-concurrent", "many"], "--max-concurrent: a whole number of at least 1"),
    ],
)
def test_serve_refuses_bad_numbers_before_loading_anything(arguments, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        serve.main(arguments)
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_a_labels_file_larger_than_its_batch_can_need_is_refused_unread(tmp_path):
    batch, labels = tmp_path / "batch.csv", tmp_path / "labels.csv"
    batch.write_text("id,x\n" + "1,2\n" * 1000)
    labels.write_bytes(b"id,label\n" + b"1,a\n" * 600_000)  # 2.4 MB for 1,000 rows
    size, limit = labels.stat().st_size, 2 * batch.stat().st_size + 2**20
    with pytest.raises(DataError, match=rf"labels.csv: {size:,} bytes, over the {limit:,} that"):
        bounded_labels(labels, batch)
    labels.write_text("id,label\n1,a\n")
    assert bounded_labels(labels, batch) == labels


def test_damaged_state_files_are_named_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data/added_batches.csv").write_text("batch,md5\nx.csv\n")
    with pytest.raises(DataError, match=r"not the record add-batches writes .*git checkout"):
        read_record()
    (tmp_path / "history.csv").write_bytes(b"\x00\xff garbage")
    with pytest.raises(DataError, match=r"history.csv: not a monitor history .*move it away"):
        read_history(tmp_path / "history.csv")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for name in ("model.skops", "params.yaml"):
        (bundle / name).write_text("")
    (bundle / "release.json").write_text('{"version": ')
    with pytest.raises(DataError, match=r"release.json: not valid JSON .*write the bundle again"):
        read_bundle(bundle)


def test_gto_failing_is_said_as_such_not_read_as_nothing_registered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no git repository here: GTO cannot work
    with pytest.raises(PipelineError, match=r"`gto show model#prod` failed: .*not a git repo"):
        gto_show("model#prod", "--ref")
    git(tmp_path, "init", "-q")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "empty")
    assert gto_show("model#prod", "--ref") is None  # a repository with nothing registered


def test_a_uvicorn_lacking_what_the_guard_extends_is_refused_naming_the_versions():
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    check_uvicorn()  # the installed uvicorn has all of it

    class Moved(HttpToolsProtocol):
        on_message_begin = None  # renamed, say, in a newer uvicorn

    class Cycle:
        def __init__(self):
            self.complete = False

    with pytest.raises(PipelineError) as refused:
        check_uvicorn(Moved, Cycle)
    assert "lacks what ops/guard.py extends (on_message_begin, response_complete, " in str(
        refused.value
    )
    assert f"install uvicorn{UVICORN_VERSIONS}, the versions pyproject.toml allows" in str(
        refused.value
    )
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert pyproject.count(f'"uvicorn{UVICORN_VERSIONS}"') == 2  # serve and dev extras
