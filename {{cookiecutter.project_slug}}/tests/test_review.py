"""Pull-request checks on hand-built inputs: the gate, reproduction checks, the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from helpers import HOSTILE, LOSS, SCORE, assert_markdown_holds

from {{ cookiecutter.package_name }}.core.config import Limit, parse
from {{ cookiecutter.package_name }}.core.errors import ConfigError, PipelineError
from {{ cookiecutter.package_name }}.core.markdown import bar_chart
from {{ cookiecutter.package_name }}.evaluation.decision import BASELINE, decide
from {{ cookiecutter.package_name }}.evaluation.gate import check_limits
from {{ cookiecutter.package_name }}.metrics import METRICS
from {{ cookiecutter.package_name }}.review.pull_requests import (
    MARKER,
    MAX_BODY,
    comment_body,
)
from {{ cookiecutter.package_name }}.review.report import (
    baseline_verdict,
    changed_params,
    metric_rows,
    metrics_chart,
    render,
    short_name,
)
from {{ cookiecutter.package_name }}.review.verify import metric_drift, stale_stages

LIMITS = {SCORE: Limit(max_drop=0.01), LOSS: Limit(max_rise=0.05)}


def test_gate_passes_small_changes_and_fails_large_ones_in_the_worse_direction():
    base = {SCORE: 0.90, LOSS: 0.30}
    within = check_limits(base, {SCORE: 0.891, LOSS: 0.34}, LIMITS, "test")
    assert [v.passed for v in within] == [True, True]
    worse = check_limits(base, {SCORE: 0.85, LOSS: 0.40}, LIMITS, "test")
    assert [(v.metric, v.passed) for v in worse] == [(SCORE, False), (LOSS, False)]
    better = check_limits(base, {SCORE: 0.99, LOSS: 0.01}, LIMITS, "test")
    assert all(v.passed for v in better), "an improvement never breaks a limit"


def test_a_relative_limit_scales_with_the_base_value():
    limits = {LOSS: Limit(max_rise=0.02, relative=True)}
    for scale in (1.0, 1000.0):  # the same model on a target in kg or in grams
        base = {LOSS: 10.0 * scale}
        (within,) = check_limits(base, {LOSS: 10.19 * scale}, limits, "test")
        (beyond,) = check_limits(base, {LOSS: 10.21 * scale}, limits, "test")
        assert within.passed and not beyond.passed
        assert beyond.rule == "may rise by at most 2.0% of the base"


def test_gate_passes_a_metric_the_base_does_not_have_yet():
    (verdict,) = check_limits({}, {SCORE: 0.5}, {SCORE: Limit(max_drop=0)}, "test")
    assert verdict.passed and verdict.base is None


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ({"max_fall": 0.1}, r"review\.limits\.f1_macro\.max_fall: Extra inputs"),
        ({"max_drop": -1}, r"review\.limits\.f1_macro\.max_drop: .*greater than or equal to 0"),
        ({"max_drop": "a"}, r"max_drop: .*got 'a'"),
        ({}, r"review\.limits\.f1_macro: .*exactly one of max_drop or max_rise"),
    ],
)
def test_limits_that_would_check_nothing_are_refused(limit, message):
    with pytest.raises(ConfigError, match=message):
        parse(Limit, limit, "params.yaml", "review.limits.f1_macro")


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"f1": Limit(max_drop=0.1)}, "f1: 'f1' is not one of this project's metrics: "),
        ({SCORE: Limit(max_rise=0.1)}, f"{SCORE}: higher is better for {SCORE}, so give max_drop"),
        ({LOSS: Limit(max_drop=0.1)}, f"{LOSS}: lower is better for {LOSS}, so give max_rise"),
        ({LOSS: Limit(max_rise=0.1)}, f"{LOSS} names a metric the pipeline does not write"),
    ],
    ids=["unknown metric", "a score that may rise", "a loss that may drop", "a metric not written"],
)
def test_a_limit_that_does_not_fit_its_metric_is_refused(limits, message):
    with pytest.raises(ConfigError, match=re.escape(f"p.yaml: review.limits.{message}")):
        check_limits({SCORE: 1.0}, {SCORE: 1.0}, limits, "p.yaml")


def lock(c: float, raw_md5: str = "aaa", model_md5: str = "m1") -> dict:
    """A two-stage dvc.lock: train reads the raw file and params; evaluate reads the model."""
    return {
        "stages": {
            "train": {
                "cmd": "python -m train",
                "deps": [{"path": "data/raw.csv", "md5": raw_md5}],
                "params": {"params.yaml": {"model": {"C": c}}},
                "outs": [{"path": "model.skops", "md5": model_md5}],
            },
            "evaluate": {
                "cmd": "python -m evaluate",
                "deps": [{"path": "model.skops", "md5": model_md5}],
                "outs": [],
            },
        }
    }


def test_stale_stages_names_changed_params_and_sources_but_not_rebuilt_outputs():
    assert stale_stages(lock(1.0), lock(1.0, model_md5="m2")) == []
    assert stale_stages(lock(1.0), lock(0.5)) == [
        "stage 'train': changed params params.yaml:model.C"
    ]
    assert stale_stages(lock(1.0), lock(1.0, raw_md5="bbb")) == [
        "stage 'train': changed deps data/raw.csv"
    ]
    reproduced = lock(1.0)
    reproduced["stages"]["extra"] = {"cmd": "x", "deps": [], "outs": []}
    assert stale_stages(lock(1.0), reproduced) == ["stage 'extra' is not in the committed dvc.lock"]


def test_metric_drift_allows_the_tolerance_and_no_more():
    committed = {"m.json": {"accuracy": 0.9, "detail": {"rows": 10}}}
    assert (
        metric_drift(committed, {"m.json": {"accuracy": 0.90005, "detail": {"rows": 10}}}, 1e-4)
        == []
    )
    assert metric_drift(
        committed, {"m.json": {"accuracy": 0.91, "detail": {"rows": 11}}}, 1e-4
    ) == [
        "m.json: accuracy committed 0.9, reproduced 0.91",
        "m.json: detail.rows committed 10, reproduced 11",
    ]


def test_report_rows_carry_base_head_and_change_and_skip_settings():
    diff = {
        "reports/metrics.json": {
            "accuracy": {"old": 0.8, "new": 0.9, "diff": 0.1},
            "new_metric": {"old": None, "new": 2.0},
        },
        "reports/tuning.json": {"enabled": {"old": False, "new": False}},
    }
    rows = metric_rows(diff, ["reports/metrics.json", "reports/tuning.json"])
    assert [(r["metric"], r["base"], r["head"]) for r in rows] == [
        ("accuracy", 0.8, 0.9),
        ("new_metric", None, 2.0),
    ]
    assert rows[0]["change"] == pytest.approx(0.1)
    assert rows[0]["relative"] == pytest.approx(0.125)
    assert rows[1]["change"] is None


def test_changed_params_lists_only_what_differs():
    base = {"model": {"C": 1.0, "max_iter": 100}, "seed": 1}
    head = {"model": {"C": 0.5, "max_iter": 100}, "seed": 1, "new": True}
    assert changed_params(base, head) == [("model.C", 1.0, 0.5), ("new", None, True)]


def test_rendered_report_leads_with_the_verdict_and_carries_the_marker():
    limits = {SCORE: Limit(max_drop=0.01)}
    verdicts = check_limits({SCORE: 0.9}, {SCORE: 0.5}, limits, "x")
    markdown = render("main (abc123)", [], [], [], verdicts, "the base", "open plots")
    lines = markdown.splitlines()
    assert lines[0] == MARKER
    assert lines[3] == f"**Quality gate failed**: `{SCORE}` may drop by at most 0.01"
    assert "No params changed." in markdown
    assert f"| `{SCORE}` | 0.9 | 0.5 | may drop by at most 0.01 | **failed** |" in markdown


def test_charts_are_mermaid_blocks_between_the_metrics_and_data_quality():
    diff = {  # as `dvc metrics diff --json` gives it
        "reports/metrics.json": {
            SCORE: {"old": 0.82, "new": 0.9},
            LOSS: {"old": 0.5, "new": 0.4},  # unbounded: not on a 0-to-1 chart
        },
        "reports/validation_metrics.json": {SCORE: {"old": 0.8, "new": 0.9}},
    }
    rows = metric_rows(diff, list(diff))
    chart = metrics_chart(rows, "main")
    assert chart.splitlines() == [
        "```mermaid",
        "xychart-beta",
        '    title "Test metrics: bars this branch, line main"',
        f'    x-axis ["{SCORE}"]',
        "    y-axis 0.75 --> 1",  # just below the lowest value, so the change shows
        "    bar [0.9]",
        "    line [0.82]",
        "```",
    ]
    markdown = render("main (abc123)", [], rows, [], [], "the base", "open plots", [chart])
    assert markdown.index("### Metrics") < markdown.index(chart) < markdown.index("### Data")


def test_chart_labels_are_quoted_safely_and_shortened():
    chart = bar_chart('a "title"', ['say "hi"', "x" * 50], [1, -2], horizontal=True)
    assert "xychart-beta horizontal" in chart and "    title \"a 'title'\"" in chart
    assert f'x-axis ["say \'hi\'", "{"x" * 29}…"]' in chart
    assert "y-axis -2 --> 1" in chart


def write_decision(scores: dict, primary: str) -> None:
    """reports/decision.json as evaluate writes it for these test scores."""
    results = {"metrics": {**scores, "test_rows": 100}, "slices": {}}
    Path("reports").mkdir(exist_ok=True)
    Path("reports/decision.json").write_text(json.dumps(decide(results, primary, 0.1)))


@pytest.mark.parametrize("binding", [True, False])
def test_a_model_below_the_baseline_is_named_and_fails_the_gate_if_set(project_copy, binding):
    params = yaml.safe_load(Path("params.yaml").read_text())
    primary = params["review"]["primary_metric"]
    low, high = sorted([0.2, 0.4], reverse=not METRICS[primary].higher_is_better)
    write_decision({primary: low, "baseline": {primary: high}}, primary)
    params["review"]["beat_baseline"] = binding
    verdict = baseline_verdict(params)
    assert (verdict.passed, verdict.fails_the_gate) == (False, binding)
    markdown = render("main (abc123)", [], [], [], [verdict], "the base", "open plots")
    assert ("**Quality gate failed**" in markdown) is binding
    assert f"| {low:g} | must beat the {BASELINE}" in markdown


def test_the_baseline_check_uses_the_base_branchs_primary_metric(project_copy):
    """A pull request that moves primary_metric to one it wins on is judged on the base's."""
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["review"]["primary_metric"] = LOSS  # the pull request's choice, which it wins on
    Path("params.yaml").write_text(yaml.safe_dump(params))
    write_decision({SCORE: 0.2, LOSS: 0.1, "baseline": {SCORE: 0.4, LOSS: 0.9}}, LOSS)
    assert baseline_verdict(params).passed
    params["review"]["primary_metric"] = SCORE  # the base's choice, which it loses on
    verdict = baseline_verdict(params)
    assert (verdict.metric, verdict.passed) == (f"{SCORE} (base: the baseline)", False)


def test_comment_body_is_marked_once_and_fits_githubs_limit():
    assert comment_body(f"{MARKER}\nhello").count(MARKER) == 1
    assert comment_body("hello").startswith(MARKER)
    long = comment_body("x" * 100_000)
    assert len(long) <= MAX_BODY and long.endswith("the job summary and the artifact)_")


def test_unknown_base_revision_is_named(project_copy):
    with pytest.raises(PipelineError, match="git revision 'no-such-branch' not found"):
        short_name("no-such-branch")


def test_hostile_param_keys_and_values_stay_inside_their_cells():
    """A branch's params.yaml is the pull request author's: its keys and values reach
    the comment, which GitHub renders for every reviewer."""
    params = [(f"model.{HOSTILE}", "a|b", HOSTILE), ("model.C", 1.0, 0.5)]
    rows = [{"file": "reports/metrics.json", "metric": HOSTILE, "base": 0.5, "head": 0.6,
             "change": 0.1, "relative": 0.2}]  # fmt: skip
    markdown = render("main (abc123)", params, rows, [], [], "the base", "open the page")
    assert_markdown_holds(markdown)
    assert "| `model.C` | 1 | 0.5 |" in markdown
