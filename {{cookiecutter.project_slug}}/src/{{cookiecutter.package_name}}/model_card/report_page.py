"""The project report: everything the pipeline knows about the current model, on one page.

The verdict first (does the model beat the baseline, is any slice treated worse), then
the metrics on validation and test side by side, where the model errs, what it relies
on, how it does per slice, what the data lost on the way in, where the model came from
and{{ ', with the operations half, every batch monitored since.' if cookiecutter.operations == 'yes' else '.' }} Drawn
offline into one file (core/charts.py) from the tables evaluate already wrote, which hold at
most ``evaluate.sample_rows`` rows: the page's size does not grow with the data.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

{% if cookiecutter.task == 'classification' %}import numpy as np
{% endif %}import pandas as pd

from ..core import paths
from ..core.charts import horizontal_bars, html_table, page, paragraph, section, {{ 'shortened, ' if cookiecutter.task == 'classification' else '' }}svg
from ..core.config import Params
from ..core.files import read_json
from . import against_baseline

MAX_LINES = 10  # lines drawn in one chart: {{ 'a curve per class; ' if cookiecutter.task == 'classification' else '' }}a PSI history per input
{%- if cookiecutter.task == 'classification' %}
MAX_CLASSES = 20  # the confusion matrix's classes; the rest share one row and column
CURVE_POINTS = 200  # points per curve: finer than the eye can tell
{%- else %}
MAX_POINTS = 1000  # predictions drawn in the scatter plots
{%- endif %}
MAX_FEATURES = 20  # the most important features drawn
MAX_GROUPS = 30  # the largest groups of a slice drawn and listed
PACKAGE = __package__.split(".")[0]


@dataclass
class Results:
    """What the pipeline wrote, as the report stage read it from reports/ and models/."""

    project: str
    task: str
    target: str
    decision: dict[str, Any]  # evaluate's, from reports/decision.json
    metrics: dict[str, Any]  # test
    validation: dict[str, Any]
    slices: dict[str, Any]
    quality: dict[str, Any]
    missing: dict[str, int]
    metadata: dict[str, Any]
    importance: pd.DataFrame
    plots: dict[str, pd.DataFrame]  # reports/plots/ tables by their relative path
    history: pd.DataFrame | None = None  # monitor's, when the project has one
    psi_threshold: float | None = None
    seed: int = 0


def plot_tables() -> dict[str, pd.DataFrame]:
    """Every table under reports/plots/, by its path there (``roc/Adelie.csv``)."""
    return {
        path.relative_to(paths.PLOTS).as_posix(): pd.read_csv(path)
        for path in sorted(paths.PLOTS.rglob("*.csv"))
    }
{%- if cookiecutter.operations == 'yes' %}


def monitoring_history() -> pd.DataFrame | None:
    """monitor's history, or None while it is empty (no batch monitored yet)."""
    if not paths.HISTORY.is_file() or not paths.HISTORY.stat().st_size:
        return None
    return pd.read_csv(paths.HISTORY, dtype={"batch_md5": str})
{%- endif %}


def read_results(params: Params) -> Results:
    """What the report draws, as the pipeline{{ ' and monitor' if cookiecutter.operations == 'yes' else '' }} wrote it."""
    tables = plot_tables()
    return Results(
        project="{{ cookiecutter.project_name }}",
        task=params.task,
        target=params.data.target,
        decision=read_json(paths.DECISION),
        metrics=read_json(paths.METRICS),
        validation=read_json(paths.VALIDATION_METRICS),
        slices=read_json(paths.SLICE_METRICS),
        quality=read_json(paths.DATA_QUALITY),
        missing=read_json(paths.MISSING_VALUES),
        metadata=read_json(paths.METADATA),
        importance=tables.pop("importance.csv"),
        plots=tables,
{%- if cookiecutter.operations == 'yes' %}
        history=monitoring_history(),
        psi_threshold=params.monitor.psi_threshold,
{%- endif %}
        seed=params.seed,
    )


def plain(markdown: str) -> str:
    return markdown.replace("**", "").replace("`", "")


def summary(results: Results) -> list[str]:
    model = results.metadata["model"]
    decision = results.decision
    verdict = plain(against_baseline(decision))
    by_column: dict[str, list[str]] = {}
    for gap in decision["flagged_gaps"]:
        by_column.setdefault(gap["column"], []).append(gap["metric"])
    limit = decision["fairness_gap"]
    fairness = (
        f"Groups differ by more than evaluate.fairness_gap ({limit}) in "
        + "; ".join(f"{column} ({', '.join(names)})" for column, names in by_column.items())
        + ": see Metrics per slice."
        if by_column
        else f"No slice gap above evaluate.fairness_gap ({limit})."
    )
    return [
        f"<h1>{html.escape(results.project)}: model report</h1>",
        paragraph(
            f"{model['class'].rsplit('.', 1)[-1]} predicting {results.target} "
            f"({results.task}) from {results.metadata['training_data']['file']}, "
            f"tested on {results.metrics['test_rows']} held-out rows."
        ),
        paragraph(
            f"{verdict} {fairness}", "verdict " + ("ok" if decision["fit_to_use"] else "flagged")
        ),
    ]


def metrics_section(results: Results) -> str:
    baseline, decision = results.metrics.get("baseline", {}), results.decision
    rows = [
        [
            name + (" (primary)" if name == decision["primary_metric"] else ""),
            results.validation.get(name),
            results.metrics.get(name),
            baseline.get(name),
            "higher" if higher else "lower",
        ]
        for name, higher in decision["higher_is_better"].items()
        if name in results.metrics or name in results.validation
    ]
    header = ["metric", "validation", "test", decision["baseline"], "better"]
    rows.append(["rows", results.validation.get("train_rows"), results.metrics["test_rows"]])
    note = (
        "Validation: rows held out of fitting, scored after it (and tuning, when on). "
        "Test: rows no step before evaluate has seen."
    )
    return section("Metrics", html_table(header, rows), paragraph(note, "why"))


{%- if cookiecutter.task == 'classification' %}


def thinned(curve: pd.DataFrame, points: int = CURVE_POINTS) -> pd.DataFrame:
    """At most ``points`` rows of a curve, evenly spaced, first and last kept."""
    if len(curve) <= points:
        return curve
    return curve.iloc[np.unique(np.linspace(0, len(curve) - 1, points).round().astype(int))]


def curves_chart(tables: dict[str, pd.DataFrame], x: str, y: str, title: str) -> str:
    import altair as alt

    named = list(tables.items())[:MAX_LINES]
    frame = pd.concat([thinned(table).assign(**{"class": name}) for name, table in named])
    lines = (
        alt.Chart(frame, title=title, width=260, height=240)
        .mark_line(interpolate="step-after" if x == "fpr" else "linear")
        .encode(
            x=alt.X(f"{x}:Q", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y(f"{y}:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("class:N"),
            order=alt.Order(f"{x}:Q"),
        )
    )
    return svg(lines)


def class_tables(results: Results, folder: str) -> dict[str, pd.DataFrame]:
    prefix = f"{folder}/"
    return {
        name.removeprefix(prefix).removesuffix(".csv"): table
        for name, table in sorted(results.plots.items())
        if name.startswith(prefix)
    }


def confusion_chart(pairs: pd.DataFrame) -> str:
    """Counts of (actual, predicted), the rarest classes beyond MAX_CLASSES as one."""
    import altair as alt

    labels = pairs.astype(str).map(shortened)
    common = set(labels["actual"].value_counts().index[:MAX_CLASSES])
    labels = labels.where(labels.isin(common), "(other classes)")
    counts = labels.value_counts().rename("rows").reset_index()
    order = sorted(set(counts["actual"]) | set(counts["predicted"]))
    size = max(160, 28 * len(order))
    base = alt.Chart(counts, title="Confusion matrix (test sample)", width=size, height=size)
    cells = base.mark_rect().encode(
        x=alt.X("predicted:N", sort=order),
        y=alt.Y("actual:N", sort=order),
        color=alt.Color("rows:Q", scale=alt.Scale(scheme="blues"), legend=None),
    )
    text = base.mark_text(fontSize=11).encode(
        x=alt.X("predicted:N", sort=order),
        y=alt.Y("actual:N", sort=order),
        text="rows:Q",
        color=alt.condition(alt.datum.rows > counts["rows"].max() / 2, alt.value("white"),
                            alt.value("black")),
    )  # fmt: skip
    return svg(cells + text)
{%- endif %}


def errors_section(results: Results) -> str:
    """Where the model errs: {{ 'the confusion matrix and the curves of each class' if cookiecutter.task == 'classification' else 'predictions against actual values, and what is left' }}."""
{%- if cookiecutter.task == 'classification' %}
    charts = [confusion_chart(results.plots["confusion.csv"])]
    roc, precision_recall = class_tables(results, "roc"), class_tables(results, "precision_recall")
    if roc:
        charts.append(curves_chart(roc, "fpr", "tpr", "ROC, each class against the rest"))
        charts.append(curves_chart(precision_recall, "recall", "precision", "Precision and recall"))
    rows = len(results.plots["confusion.csv"])
    caption = f"From a seeded sample of {rows} test rows (evaluate.sample_rows)."
    if not roc:
        caption += " The model gives no probabilities: no ROC or precision-recall curves."
    elif len(roc) > MAX_LINES:
        caption += f" Curves of the first {MAX_LINES} of {len(roc)} classes."
{%- else %}
    import altair as alt

    table = results.plots["predictions.csv"]
    table = table.sample(min(len(table), MAX_POINTS), random_state=results.seed)
    values = table[["actual", "predicted"]]
    ends = [values.min().min(), values.max().max()]
    diagonal = pd.DataFrame({"actual": ends, "predicted": ends})
    scatter = alt.Chart(table, width=300, height=260).mark_circle(size=14, opacity=0.5)
    unzeroed = alt.Scale(zero=False)
    against = scatter.encode(
        x=alt.X("actual:Q", scale=unzeroed), y=alt.Y("predicted:Q", scale=unzeroed)
    ).properties(title="Predicted against actual") + alt.Chart(diagonal).mark_line(
        color="#999", strokeDash=[4, 4]
    ).encode(x="actual:Q", y="predicted:Q")
    residuals = scatter.encode(
        x=alt.X("predicted:Q", scale=unzeroed), y=alt.Y("residual:Q", title="actual - predicted")
    ).properties(title="Residuals against predictions") + alt.Chart(
        pd.DataFrame({"zero": [0]})
    ).mark_rule(color="#999").encode(y="zero:Q")
    charts = [svg(against), svg(residuals)]
    caption = f"{len(table)} test rows drawn with the seed; the dashed line is a perfect model."
{%- endif %}
    return section(
        "Where the model errs", f'<div class="charts">{"".join(charts)}</div>',
        paragraph(caption, "why"),
    )  # fmt: skip


def importance_section(results: Results) -> str:
    top = results.importance.head(MAX_FEATURES)
    chart = horizontal_bars(
        top, "importance", "feature", "Permutation importance (test sample)",
        "drop in score when the feature is shuffled", error="std",
    )  # fmt: skip
    note = (
        "How much the model relies on each input, not a causal effect; correlated inputs "
        "share the credit."
    )
    if len(results.importance) > MAX_FEATURES:
        note += f" The {MAX_FEATURES} most important of {len(results.importance)} inputs."
    return section("What the model relies on", chart, paragraph(note, "why"))


def slice_part(column: str, result: dict[str, Any], results: Results) -> str:
    groups = sorted(result["groups"].items(), key=lambda item: -item[1]["rows"])
    shown = groups[:MAX_GROUPS]
    decision = results.decision
    names = [m for m in decision["higher_is_better"] if all(m in s for _, s in shown)]
    flagged_metrics = {g["metric"] for g in decision["flagged_gaps"] if g["column"] == column}
    rows = [[group, scores["rows"], *(scores[m] for m in names)] for group, scores in shown]
    flagged = set()
    for offset, metric in enumerate(names):
        if metric in flagged_metrics:
            values = [row[2 + offset] for row in rows]
            flagged |= {
                (values.index(min(values)), 2 + offset),
                (values.index(max(values)), 2 + offset),
            }
    primary = decision["primary_metric"]
    metric = primary if primary in names else (names or [None])[0]
    parts = [html_table([column, "test rows", *names], rows, flagged)]
    if metric is not None:
        frame = pd.DataFrame(
            {"group": [g for g, _ in shown], metric: [s[metric] for _, s in shown]}
        )
        parts.insert(0, horizontal_bars(frame, metric, "group", f"{metric} by {column}", metric))
    caption = (
        f"Gap above the limit in: {', '.join(sorted(flagged_metrics))} (highest and lowest "
        "group marked)."
        if flagged_metrics
        else "No gap above the limit."
    )
    if len(groups) > MAX_GROUPS:
        caption += f" The {MAX_GROUPS} largest of {len(groups)} groups."
    return f"<h3>{column}</h3>{''.join(parts)}" + paragraph(caption, "why")


def slices_section(results: Results) -> str:
    if not results.slices:
        return section(
            "Slices", paragraph("No slice is set (evaluate.slice_columns in conf/evaluate/).")
        )
    parts = [slice_part(column, result, results) for column, result in results.slices.items()]
    return section("Metrics per slice (fairness)", *parts)


def quality_section(results: Results) -> str:
    quality = results.quality
    rows = [["rows in", quality["rows_in"]], ["rows out", quality["rows_out"]]]
    rows += [[f"dropped: {reason}", count] for reason, count in quality["rows_dropped"].items()]
    parts = [html_table(["count", "rows"], rows)]
    rows_in = max(quality["rows_in"], 1)
    shares = [(column, n / rows_in) for column, n in results.missing.items() if n]
    missing = pd.DataFrame(shares, columns=["column", "missing"])
    if missing.empty:
        parts.append(paragraph("No value is missing in any column."))
    else:
        missing = missing.sort_values("missing", ascending=False, kind="stable")
        parts.append(
            horizontal_bars(missing.head(MAX_GROUPS), "missing", "column",
                            "Missing values per column (raw rows)", "share of rows")
        )  # fmt: skip
    return section("Data quality", *parts)


def card_section(metadata: dict[str, Any]) -> str:
    model, data, commit = metadata["model"], metadata["training_data"], metadata["git"]
    source = commit["commit"] or "not a git repository"
    if commit["uncommitted_changes"]:
        source += " (with uncommitted changes)"
    rows = [
        ["model", model["class"]],
        ["parameters", ", ".join(f"{k}={v}" for k, v in model["parameters"].items()) or "defaults"],
        ["model file (MD5)", f"{model['file']} ({model['md5']})"],
        ["training data (MD5)", f"{data['file']} ({data['md5']})"],
        ["code and config commit", source],
        *([name, version] for name, version in metadata["libraries"].items()),
    ]
    note = "The full card, with its limitations: reports/model_card.md."
    return section(
        "Where the model came from", html_table(["fact", "value"], rows), paragraph(note, "why")
    )
{%- if cookiecutter.operations == 'yes' %}


def history_section(results: Results) -> str:
    """PSI of each input per monitored batch, and each batch's verdict."""
    import altair as alt

    history = results.history
    if history is None or history.empty:
        return section(
            "Monitoring history",
            paragraph(f"No batch has been monitored yet (python -m {PACKAGE} monitor)."),
        )
    psi = [c for c in history.columns if c.startswith("psi_")]
    worst = history[psi].max().sort_values(ascending=False).index[:MAX_LINES]
    order = list(history["batch"])
    long = history.melt(
        id_vars=["batch"], value_vars=list(worst), var_name="input", value_name="psi"
    )
    long["input"] = long["input"].str.removeprefix("psi_")
    lines = (
        alt.Chart(long, title="PSI per monitored batch", width=420, height=220)
        .mark_line(point=True)
        .encode(
            x=alt.X("batch:N", sort=order, axis=alt.Axis(labelAngle=-30)),
            y="psi:Q",
            color="input:N",
        )
    )
    limit = (
        alt.Chart(pd.DataFrame({"psi": [results.psi_threshold]}))
        .mark_rule(color="#b3261e", strokeDash=[4, 4])
        .encode(y="psi:Q")
    )
    columns = ["batch", "checked_at", "model_version", "rows", "status", "drifted_columns"]
    columns += [
        c for c in history.columns if c not in columns and c != "batch_md5" and c not in psi
    ]
    recent = history[columns].tail(MAX_GROUPS)
    rows = recent.astype(object).where(recent.notna(), None).to_numpy().tolist()
    status = columns.index("status")
    flagged = {(r, status) for r, row in enumerate(rows) if row[status] != "ok"}
    note = (
        f"The dashed line is monitor.psi_threshold ({results.psi_threshold}); the inputs "
        "with the largest PSI are drawn."
    )
    return section(
        "Monitoring history", svg(lines + limit), paragraph(note, "why"),
        html_table(columns, rows, flagged),
    )  # fmt: skip
{%- endif %}


def report_page(results: Results) -> str:
    parts = [
        *summary(results),
        metrics_section(results),
        errors_section(results),
        importance_section(results),
        slices_section(results),
        quality_section(results),
        card_section(results.metadata),
{%- if cookiecutter.operations == 'yes' %}
        history_section(results),
{%- endif %}
    ]
    return page(f"{results.project}: model report", parts)
