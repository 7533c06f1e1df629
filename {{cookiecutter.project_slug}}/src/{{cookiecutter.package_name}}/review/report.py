"""Compare the reproduced results with a base revision, as a pull request sees them.

Writes ``<output>/report.md``: the params that changed, every metric with its base and
head values and the change, charts of the test metrics and the most important features
(Mermaid, which GitHub draws itself), the data-quality counts, and the quality gate;
and ``<output>/report.html``, this branch's project report: a page that runs no script
and loads nothing, so a hostile class label or column name cannot act in a reviewer's
browser. (DVC's own plots page is not written: it puts the data in a ``<script>``
block and loads Vega from the network.) In GitHub Actions the report
also goes to the job summary. Exits 1 when a metric breaks a limit of the gate,
after writing the report, so the report says which.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import actions, paths
from ..core.commands import dvc, git, read_at, yaml_at
from ..core.config import Limit, differing_keys, flatten, load_params, parse
from ..core.errors import PipelineError
from ..core.files import read_json
from ..core.markdown import MISSING, bar_chart, code, number, table
from ..core.yaml_files import read_yaml
from ..evaluation.gate import Verdict, check_limits
from ..metrics import METRICS
from .pull_requests import MARKER

RESULT_FILES = [str(paths.METRICS), str(paths.VALIDATION_METRICS), str(paths.TUNING)]
IMPORTANCE = paths.PLOTS / "importance.csv"
TOP_FEATURES = 10


def short_name(revision: str) -> str:
    """``revision`` as a short commit hash, refusing one git does not know."""
    result = git("rev-parse", "--short", "--verify", "--quiet", revision + "^{commit}")
    if result.returncode != 0:
        raise PipelineError(
            f"git revision {revision!r} not found. Fetch it first (in GitHub Actions, "
            "check out with `fetch-depth: 0`), or name another with --base."
        )
    return result.stdout.strip()


def changed_params(base: dict[str, Any], head: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, base value, head value) for every params.yaml key that differs."""
    before, after = flatten(base or {}), flatten(head)
    return [(key, before.get(key), after.get(key)) for key in differing_keys(base or {}, head)]


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metric_rows(diff: dict[str, Any], files: list[str]) -> list[dict[str, Any]]:
    """Numeric rows of ``dvc metrics diff --json`` for ``files``, in the files' own order."""
    rows = []
    for file in files:
        values_by_metric = diff.get(file) or {}
        order = list(flatten(read_yaml(Path(file)) or {})) if Path(file).is_file() else []
        for metric in sorted(
            values_by_metric, key=lambda k: (order.index(k) if k in order else len(order), k)
        ):
            old, new = values_by_metric[metric].get("old"), values_by_metric[metric].get("new")
            if (old is None and new is None) or not all(
                v is None or is_number(v) for v in (old, new)
            ):
                continue  # booleans and text are settings, not measurements
            change = None if old is None or new is None else new - old
            relative = None if change is None or old == 0 else change / abs(old)
            rows.append({"file": file, "metric": metric, "base": old, "head": new,
                         "change": change, "relative": relative})  # fmt: skip
    return rows


def missing_rows(base: str) -> list[dict[str, Any]]:
    """Missing values per column, only where they changed: not a metric, so read here."""
    before = yaml_at(base, str(paths.MISSING_VALUES)) or {}
    after = read_yaml(paths.MISSING_VALUES) if paths.MISSING_VALUES.is_file() else {}
    return [
        {"metric": f"missing_values.{column}", "base": old, "head": new,
         "change": None if old is None or new is None else new - old}
        for column in [*after, *(c for c in before if c not in after)]
        if (old := before.get(column)) != (new := after.get(column))
    ]  # fmt: skip


def change_cells(row: dict[str, Any]) -> list[str]:
    return [number(row["base"]), number(row["head"]), number(row["change"], signed=True)]


def percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:+.1%}" if value else "0%"


def metrics_chart(results: list[dict[str, Any]], base_name: str) -> str | None:
    """The test metrics on a 0-to-1 scale: this branch as bars, the base as a line."""
    shown = [
        r for r in results
        if r["file"] == str(paths.METRICS) and r["metric"] in METRICS
        and not METRICS[r["metric"]].unbounded and r["head"] is not None
    ]  # fmt: skip
    if not shown:
        return None
    head, base = [r["head"] for r in shown], [r["base"] for r in shown]
    values = [value for value in [*head, *base] if value is not None]
    # From just below the lowest value, in twentieths, so small changes show.
    y_range = (math.floor(min(values) * 20 - 1) / 20, max(1.0, *values))
    return bar_chart(
        f"Test metrics: bars this branch, line {base_name}",
        [r["metric"] for r in shown],
        head,
        None if None in base else base,
        y_range=y_range,
    )


def importance_chart(base: str, base_name: str) -> str | None:
    """The most important features on this branch, their importance at the base as a line."""
    if not IMPORTANCE.is_file():
        return None
    head = pd.read_csv(IMPORTANCE).head(TOP_FEATURES)
    before = read_at(base, IMPORTANCE.as_posix())
    known = {}
    if before is not None:
        known = pd.read_csv(io.StringIO(before)).set_index("feature")["importance"].to_dict()
    line = [known.get(feature) for feature in head["feature"]]
    # Below zero, shuffling a feature helped by chance: drawn as 0 (importance.csv has it).
    return bar_chart(
        f"Permutation importance, top {len(head)}: bars this branch, line {base_name}",
        list(head["feature"]),
        [max(value, 0.0) for value in head["importance"]],
        None if None in line else [max(value, 0.0) for value in line],
        horizontal=True,
    )


def render(
    base_name: str,
    params: list[tuple[str, Any, Any]],
    results: list[dict[str, Any]],
    quality: list[dict[str, Any]],
    verdicts: list[Verdict],
    limits_source: str,
    plots_note: str,
    charts: list[str] | None = None,
) -> str:
    """The whole report as Markdown, verdict first."""
    failed = [f"{code(v.metric)} {v.rule}" for v in verdicts if v.fails_the_gate]
    verdict = (
        f"**Quality gate failed**: {', '.join(failed)}" if failed else "**Quality gate passed**"
    )
    params_rows = [[code(key), number(old), number(new)] for key, old, new in params]
    metric_cells = [
        [code(r["file"]), code(r["metric"]), *change_cells(r), percent(r["relative"])]
        for r in results
    ]
    gate_rows = [
        [
            code(v.metric),
            number(v.base),
            number(v.head),
            v.rule,
            "passed" if v.passed else "**failed**" if v.binding else "**not met**",
        ]
        for v in verdicts
    ]
    sections = [
        f"{MARKER}\n## Pipeline report: this branch against {code(base_name)}",
        verdict,
        "### Params\n\n"
        + (table(["param", "base", "head"], params_rows) if params else "No params changed."),
        "### Metrics\n\n"
        + table(["file", "metric", "base", "head", "change", "relative"], metric_cells),
        *(["### Charts\n\n" + "\n\n".join(charts)] if charts else []),
        "### Data quality\n\n"
        + table(
            ["count", "base", "head", "change"],
            [[code(r["metric"]), *change_cells(r)] for r in quality],
        ),
        f"### Quality gate\n\nLimits from {limits_source}.\n\n"
        + (
            table(["metric", "base", "head", "limit", "result"], gate_rows)
            if verdicts
            else "No limits are set (`review.limits` in conf/review/)."
        ),
        f"### Report\n\n{plots_note}",
    ]
    return "\n\n".join(sections) + "\n"


def plots_note(output: Path) -> str:
    """Where this branch's whole report is: the run's artifact, or the output folder."""
    run = [
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    ]
    page = "the whole report of this branch, with charts (it runs no script and loads nothing)"
    if all(run):
        url = "{}/{}/actions/runs/{}".format(*run)
        where = f"`report.html` in the {code(output.name)} artifact of [this workflow run]({url})"
    else:
        where = code(output / "report.html")
    return f"Open {where}: {page}. The charts above compare it with the base."


def limits_for(base: str, base_params: Any) -> tuple[dict[str, Limit], str]:
    """The base revision's limits, so a pull request cannot loosen its own gate."""
    base_limits = ((base_params or {}).get("review") or {}).get("limits")
    if base_limits is None:
        return load_params().review.limits, "this branch's `params.yaml` (the base has none)"
    source = f"`params.yaml` at {code(base)}"
    return {
        m: parse(Limit, limit, source, f"review.limits.{m}") for m, limit in base_limits.items()
    }, source


def baseline_verdict(base_params: Any) -> Verdict | None:
    """Whether the model beats the {{ 'majority class' if cookiecutter.task == 'classification' else 'training mean' }} on the primary metric, as evaluate decided
    (reports/decision.json), as a verdict of the gate when ``review.beat_baseline`` is on.
    The base branch's ``beat_baseline`` and ``primary_metric`` apply, when it has them, so
    a pull request cannot switch the check off, or move it to a metric it wins on, for
    itself."""
    review = load_params().review
    base_review = (base_params or {}).get("review") or {}
    gate = base_review.get("beat_baseline", review.beat_baseline)
    metric = base_review.get("primary_metric", review.primary_metric)
    decision = read_json(paths.DECISION)
    compared = decision["against_baseline"].get(metric)
    if compared is None:
        return None
    baseline = decision["baseline"]
    rule = f"must beat the {baseline}" + ("" if gate else " (reported only: beat_baseline off)")
    name = f"{metric} (base: the baseline)"
    return Verdict(name, compared["baseline"], compared["model"], rule, compared["beats"], gate)


def compare(base: str, output: Path) -> tuple[str, list[Verdict]]:
    """Build the report against ``base``; write it and this branch's page into ``output``."""
    base_name = short_name(base)
    head_params = read_yaml(paths.PARAMS)
    base_params = yaml_at(base, str(paths.PARAMS))
    diff = json.loads(dvc("metrics", "diff", base, "--all", "--json") or "{}")
    results = metric_rows(diff, RESULT_FILES)
    limits, limits_source = limits_for(base, base_params)
    test = [r for r in results if r["file"] == str(paths.METRICS)]
    verdicts = check_limits(
        {r["metric"]: r["base"] for r in test if r["base"] is not None},
        {r["metric"]: r["head"] for r in test if r["head"] is not None},
        limits,
        limits_source,
    )
    if baseline := baseline_verdict(base_params):
        verdicts.append(baseline)
    quality = metric_rows(diff, [str(paths.DATA_QUALITY)]) + missing_rows(base)
    if paths.REPORT.is_file():
        shutil.copyfile(paths.REPORT, output / "report.html")
    charts = [metrics_chart(results, base), importance_chart(base, base)]
    markdown = render(
        f"{base} ({base_name})",
        changed_params(base_params, head_params),
        results,
        quality,
        verdicts,
        limits_source,
        plots_note(output),
        [chart for chart in charts if chart],
    )
    (output / "report.md").write_text(markdown, encoding="utf-8")
    return markdown, verdicts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument(
        "--output", type=Path, default=Path("pipeline-report"), help="report folder"
    )
    args = parser.parse_args(argv)
    if not paths.METRICS.is_file():
        raise PipelineError(f"{paths.METRICS} not found: run `dvc repro` first")
    load_params()  # refuse an invalid params.yaml before comparing anything
    args.output.mkdir(parents=True, exist_ok=True)
    markdown, verdicts = compare(args.base, args.output)
    actions.add_to_summary(markdown)
    actions.set_output("report", str(args.output / "report.md"))
    print(markdown)
    failed = [
        f"{v.metric} {number(v.base)} -> {number(v.head)} ({v.rule})"
        for v in verdicts
        if v.fails_the_gate
    ]
    if failed:
        raise PipelineError("quality gate failed: " + "; ".join(failed))
