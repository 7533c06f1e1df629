"""The project report (reports/report.html): built from evaluate's own results, it leads
with the verdict, draws every chart offline and stays small however large the data."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import (
    HOSTILE,
    INERT_OUTSIDE_CODE,
    TABULAR_TARGET,
    assert_markdown_holds,
    assert_self_contained,
    chart_sizes,
    outside_code,
)

from {{ cookiecutter.package_name }}.core.estimators import save_model
from {{ cookiecutter.package_name }}.core.markdown import code, text
from {{ cookiecutter.package_name }}.evaluation.decision import decide
from {{ cookiecutter.package_name }}.evaluation.scoring import evaluate
from {{ cookiecutter.package_name }}.evaluation.tuning import fit_or_tune
from {{ cookiecutter.package_name }}.model_card import model_metadata, render_card
from {{ cookiecutter.package_name }}.model_card.report_page import (
    Results,
    report_page,
)

SECTIONS = [
    "Metrics", "Where the model errs", "What the model relies on",
    "Metrics per slice (fairness)", "Data quality", "Where the model came from",
{%- if cookiecutter.operations == 'yes' %}
    "Monitoring history",
{%- endif %}
]  # fmt: skip
# {{ 'Confusion matrix, ROC and precision-recall' if cookiecutter.task == 'classification' else 'Predicted against actual, and the residuals' }}.
ERROR_CHARTS = {{ 3 if cookiecutter.task == 'classification' else 2 }}


def evaluated(frame: pd.DataFrame, params, folder: Path) -> tuple[dict, dict, dict]:
    """A model fitted on the first half of ``frame`` and saved in ``folder``, evaluated on
    the rest: evaluate's results, the validation scores and the model's metadata."""
    train, test = frame.iloc[: len(frame) // 2], frame.iloc[len(frame) // 2 :]
    model, _, validation = fit_or_tune(train, params)
    found = evaluate(model, test.reset_index(drop=True), train[TABULAR_TARGET].to_numpy(), params)
    save_model(model, folder / "model.skops")
    frame.to_csv(folder / "raw.csv", index=False)
    metadata = model_metadata(folder / "model.skops", params.model, folder / "raw.csv", {})
    return found, validation, metadata


def results_of(
    frame: pd.DataFrame, params, folder: Path, fairness_gap: float | None = None, **changes
) -> Results:
    """The report's inputs as the pipeline writes them, for a model fitted on ``frame``
    (and evaluate's decision with ``fairness_gap``, when given, for the limit)."""
    found, validation, metadata = evaluated(frame, params, folder)
    limit = params.evaluate.fairness_gap if fairness_gap is None else fairness_gap
    fields = {
        "project": "Tabular <test>",
        "task": params.task,
        "target": TABULAR_TARGET,
        "decision": decide(found, params.review.primary_metric, limit),
        "metrics": found["metrics"],
        "validation": validation,
        "slices": found["slices"],
        "quality": {"rows_in": len(frame) + 3, "rows_out": len(frame),
                    "rows_dropped": {"duplicate": 2, "missing_target": 1}},
        "missing": {"x": 0, "y": 9, "colour": 0},
        "metadata": metadata,
        "importance": found["importance"],
        "plots": found["plots"],
    }  # fmt: skip
    return Results(**(fields | changes))


def test_the_report_leads_with_the_verdict_and_draws_every_chart_offline(
    tabular, params_with, tmp_path
):
    page = report_page(results_of(tabular, params_with(), tmp_path))
    assert page.index("Tabular &lt;test&gt;: model report") < page.index('class="verdict')
    assert page.index('class="verdict') < page.index("<svg")
    assert re.search(r'class="verdict \w+">The model beats the [\w-]+ baseline', page)
    assert re.findall(r"<h2>(.*?)</h2>", page) == SECTIONS
    sizes = chart_sizes(page)
    # Errors, importance, one slice column, missing values: each drawn, none empty.
    assert len(sizes) == ERROR_CHARTS + 3, sizes
    assert all(width > 0 and height > 0 for width, height in sizes)
    assert "<td>y</td>" not in page and ">missing_target<" not in page  # charted, not listed
    assert 'dropped: missing_target</td><td class="number">1</td>' in page
    assert_self_contained(page)


def test_slice_gaps_above_the_limit_are_named_in_the_verdict_and_marked_in_the_table(
    tabular, params_with, tmp_path
):
    strict = report_page(results_of(tabular, params_with(), tmp_path, fairness_gap=0.0))
    assert re.search(r"Groups differ by more than evaluate.fairness_gap \(0.0\) in colour", strict)
    assert 'class="verdict flagged"' in strict
    assert strict.count('class="number flagged"') >= 2  # the highest and the lowest group
    lenient = report_page(results_of(tabular, params_with(), tmp_path, fairness_gap=10.0))
    assert "No slice gap above evaluate.fairness_gap (10.0)" in lenient
    assert 'flagged"' not in lenient  # no cell, no verdict marked


def test_the_report_stays_small_with_many_classes_groups_and_rows(tabular, params_with, tmp_path):
    """evaluate.sample_rows bounds the plot tables; the page bounds what it draws of them."""
    rng = np.random.default_rng(0)
    rows = 10_000
{%- if cookiecutter.task == 'classification' %}
    classes = [f"class {n}" for n in range(300)]
    curve = pd.DataFrame({"fpr": np.sort(rng.random(rows)), "tpr": np.sort(rng.random(rows))})
    plots = {
        "confusion.csv": pd.DataFrame(
            {"actual": rng.choice(classes, rows), "predicted": rng.choice(classes, rows)}
        ),
        **{f"roc/{name}.csv": curve for name in classes},
        **{
            f"precision_recall/{name}.csv": curve.set_axis(["recall", "precision"], axis=1)
            for name in classes
        },
    }
{%- else %}
    actual = rng.normal(size=rows)
    predicted = actual + rng.normal(scale=0.3, size=rows)
    plots = {
        "predictions.csv": pd.DataFrame(
            {"actual": actual, "predicted": predicted, "residual": actual - predicted}
        )
    }
{%- endif %}
    base = results_of(tabular, params_with(), tmp_path)
    groups = {f"zip {n:05d}": {"rows": 50, **base.metrics} for n in range(2000)}
    slices = {"zip": {"groups": groups, "largest_gap": {}}}
    importance = pd.DataFrame(
        {"feature": [f"feature {n}" for n in range(500)], "importance": 0.01, "std": 0.001}
    )
    missing = {f"feature {n}": n for n in range(500)}
    page = report_page(
        results_of(
            tabular, params_with(), tmp_path,
            plots=plots, slices=slices, importance=importance, missing=missing,
        )
    )  # fmt: skip
    assert len(page.encode()) < 1_000_000, len(page.encode())
    assert "The 30 largest of 2000 groups" in page
    assert "The 20 most important of 500 inputs" in page
{%- if cookiecutter.task == 'classification' %}
    assert "Curves of the first 10 of 300 classes" in page
{%- endif %}
{%- if cookiecutter.operations == 'yes' %}


def test_the_monitoring_history_draws_each_batch_and_marks_the_flagged_ones(
    tabular, params_with, tmp_path
):
    history = pd.DataFrame(
        {
            "batch": ["2026-01.csv", "2026-02.csv", "2026-03.csv"],
            "batch_md5": ["a", "b", "c"],
            "checked_at": ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"],
            "model_version": "v1.0.0",
            "rows": [500, 480, 510],
            "status": ["ok", "ok", "drift"],
            "drifted_columns": ["", "", "x"],
            "psi_x": [0.01, 0.05, 0.6],
            "psi_colour": [0.0, 0.01, 0.02],
            "psi_prediction": [0.01, 0.02, 0.3],
        }
    )
    empty = report_page(results_of(tabular, params_with(), tmp_path))
    assert "No batch has been monitored yet" in empty
    page = report_page(
        results_of(tabular, params_with(), tmp_path, history=history, psi_threshold=0.2)
    )
    history_part = page[page.index("<h2>Monitoring history</h2>") :]
    assert len(chart_sizes(history_part)) == 1 and "monitor.psi_threshold (0.2)" in history_part
    assert history_part.count("<tr>") == 1 + 3  # the header and a row per batch
    assert '<td class="flagged">drift</td>' in history_part
    assert '<td class="flagged">ok</td>' not in history_part
{%- endif %}


@pytest.mark.parametrize("bad", ["<b>bold</b>", "a & b"])
def test_names_from_the_data_are_escaped(bad, tabular, params_with, tmp_path):
    frame = tabular.assign(colour=tabular.colour.replace("red", bad))
    page = report_page(results_of(frame, params_with(), tmp_path))
    assert bad not in page and html.escape(bad) in page


def test_hostile_values_from_the_data_stay_inert_in_the_card_and_the_page(
    tabular, params_with, tmp_path
):
    frame = tabular.assign(colour=tabular.colour.replace("red", HOSTILE))
{%- if cookiecutter.task == 'classification' %}
    frame = frame.assign(label=frame.label.replace("high", HOSTILE))  # a class label too
{%- endif %}
    params = params_with()
    found, _, metadata = evaluated(frame, params, tmp_path)
    metadata["test_metrics"] = found["metrics"]
    card = render_card(
        metadata,
        {"task": params.task, "target": TABULAR_TARGET, "rows_after_cleaning": len(frame),
         "train_rows": len(frame) // 2, "max_train_rows": None, "slices": found["slices"],
         "importance": found["importance"].to_dict("records"),
         "classes": found.get("classes", [])},
        decide(found, params.review.primary_metric, 0.0),
    )  # fmt: skip
    assert HOSTILE.splitlines()[0] not in card  # the value never stands as written
    assert_markdown_holds(card)
    page = report_page(results_of(frame, params, tmp_path))
    assert "<script" not in page and html.escape("</script><script>") in page
    assert_self_contained(page)


@pytest.mark.parametrize("value", [HOSTILE, "`", "``a``", "|", "@org/team", "plain"])
def test_code_and_text_keep_any_value_inside_one_cell(value):
    row = f"| {code(value)} | {text(value)} |"
    assert "\n" not in row and len(re.findall(r"(?<!\\)\|", row)) == 3
    for pattern in INERT_OUTSIDE_CODE:
        assert not re.search(pattern, outside_code(row)), pattern
    longest = max((len(run) for run in re.findall("`+", value)), default=0)
    assert code(value).startswith("`" * (longest + 1))  # a fence the value cannot close
