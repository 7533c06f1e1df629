"""Compare the reproduced results with a base revision, as a pull request sees them.

    python -m <package>.report --base origin/main          # after `dvc repro`
    python -m <package>.report --base main --output my-report

Writes ``<output>/report.md``: the params that changed, every metric with its base
and head values and the change, the data-quality counts, and the quality gate
(gate.py); and ``<output>/plots/index.html``, DVC's plots of both revisions. In
GitHub Actions the report also goes to the job summary. Exits 1 when a metric breaks
a limit of the gate, after writing the report, so the report says which.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from . import actions, paths
from .errors import PipelineError, run_main
from .gate import Verdict, check_limits
from .params import differing_keys, flatten, get, load_params
from .pr_comment import MARKER
from .revisions import dvc, dvc_json, short_name, yaml_at

DEFAULT_OUTPUT = Path("pipeline-report")
RESULT_FILES = [str(paths.METRICS), str(paths.VALIDATION_METRICS), str(paths.TUNING)]
MISSING = "n/a"


def changed_params(base: dict[str, Any], head: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, base value, head value) for every params.yaml key that differs."""
    before, after = flatten(base or {}), flatten(head)
    return [(key, before.get(key), after.get(key)) for key in differing_keys(base or {}, head)]


def metric_rows(diff: dict[str, Any], files: list[str]) -> list[dict[str, Any]]:
    """Numeric rows of ``dvc metrics diff --json`` for ``files``, in that order."""
    rows = []
    for file in files:
        values_by_metric = diff.get(file) or {}
        for metric in sorted(values_by_metric, key=file_order(file)):
            values = values_by_metric[metric]
            old, new = values.get("old"), values.get("new")
            if (old is None and new is None) or not all(
                v is None or is_number(v) for v in (old, new)
            ):
                continue  # booleans and text are settings, not measurements
            change = None if old is None or new is None else new - old
            relative = None if change is None or old == 0 else change / abs(old)
            rows.append(
                {
                    "file": file,
                    "metric": metric,
                    "base": old,
                    "head": new,
                    "change": change,
                    "relative": relative,
                }
            )
    return rows


def file_order(file: str) -> Any:
    """A sort key that lists a metrics file's keys as the file itself does."""
    path = Path(file)
    order = list(flatten(yaml.safe_load(path.read_text()) or {})) if path.is_file() else []
    return lambda key: (order.index(key) if key in order else len(order), key)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: Any, signed: bool = False) -> str:
    if value is None:
        return MISSING
    if not is_number(value):
        return f"`{value}`"
    text = f"{value:+.6g}" if signed else f"{value:.6g}"
    return "0" if signed and value == 0 else text


def percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:+.1%}" if value else "0%"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def params_section(params: list[tuple[str, Any, Any]]) -> str:
    if not params:
        return "### Params\n\nNo params changed."
    rows = [[f"`{key}`", number(old), number(new)] for key, old, new in params]
    return "### Params\n\n" + table(["param", "base", "head"], rows)


def change_cells(row: dict[str, Any]) -> list[str]:
    return [number(row["base"]), number(row["head"]), number(row["change"], signed=True)]


def metrics_section(results: list[dict[str, Any]]) -> str:
    rows = [
        [f"`{r['file']}`", f"`{r['metric']}`", *change_cells(r), percent(r["relative"])]
        for r in results
    ]
    header = ["file", "metric", "base", "head", "change", "relative"]
    return "### Metrics\n\n" + table(header, rows)


def quality_section(quality: list[dict[str, Any]]) -> str:
    rows = [[f"`{r['metric']}`", *change_cells(r)] for r in quality]
    return "### Data quality\n\n" + table(["count", "base", "head", "change"], rows)


def gate_section(verdicts: list[Verdict], limits_source: str) -> str:
    heading = f"### Quality gate\n\nLimits from {limits_source}.\n\n"
    if not verdicts:
        return heading + "No limits are set (`review.limits` in conf/review/)."
    rows = [[f"`{v.metric}`", number(v.base), number(v.head), v.rule, outcome(v)] for v in verdicts]
    return heading + table(["metric", "base", "head", "limit", "result"], rows)


def outcome(verdict: Verdict) -> str:
    return "passed" if verdict.passed else "**failed**"


def render(
    base_name: str,
    params: list[tuple[str, Any, Any]],
    results: list[dict[str, Any]],
    quality: list[dict[str, Any]],
    verdicts: list[Verdict],
    limits_source: str,
    plots_note: str,
) -> str:
    """The whole report as Markdown, verdict first."""
    failed = [v for v in verdicts if not v.passed]
    verdict = (
        "**Quality gate failed**: " + ", ".join(f"`{v.metric}` {v.rule}" for v in failed)
        if failed
        else "**Quality gate passed**"
    )
    sections = [
        f"{MARKER}\n## Pipeline report: this branch against `{base_name}`",
        verdict,
        params_section(params),
        metrics_section(results),
        quality_section(quality),
        gate_section(verdicts, limits_source),
        f"### Plots\n\n{plots_note}",
    ]
    return "\n\n".join(sections) + "\n"


def quality_rows(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """Row counts always; missing values per column only where they changed."""
    rows = metric_rows(diff, [str(paths.DATA_QUALITY)])
    return [r for r in rows if not r["metric"].startswith("missing_values.") or r["change"]]


def plots_note(output: Path) -> str:
    names = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    run = [os.environ.get(name) for name in names]
    if all(run):
        url = "{}/{}/actions/runs/{}".format(*run)
        return (
            f"Both revisions' plots are in the `{output.name}` artifact of "
            f"[this workflow run]({url}): open `plots/index.html`."
        )
    return f"Both revisions' plots: open `{output / 'plots' / 'index.html'}`."


def limits_for(base: str, base_params: Any, head_params: dict[str, Any]) -> tuple[Any, str]:
    """The base revision's limits, so a pull request cannot loosen its own gate."""
    base_limits = ((base_params or {}).get("review") or {}).get("limits")
    if base_limits is not None:
        return base_limits, f"`params.yaml` at `{base}`"
    return get(head_params, "review.limits"), "this branch's `params.yaml` (the base has none)"


def compare(base: str, output: Path) -> tuple[str, list[Verdict]]:
    """Build the report against ``base``; write it and the plots into ``output``."""
    base_name = short_name(base)
    head_params = load_params()
    base_params = yaml_at(base, str(paths.PARAMS))
    diff = dvc_json("metrics", "diff", base, "--all")
    results = metric_rows(diff, RESULT_FILES)
    limits, limits_source = limits_for(base, base_params, head_params)
    test = [r for r in results if r["file"] == str(paths.METRICS)]
    verdicts = check_limits(
        {r["metric"]: r["base"] for r in test if r["base"] is not None},
        {r["metric"]: r["head"] for r in test if r["head"] is not None},
        limits,
        limits_source,
    )
    dvc("plots", "diff", base, "--out", str(output / "plots"))
    markdown = render(
        f"{base} ({base_name})",
        changed_params(base_params, head_params),
        results,
        quality_rows(diff),
        verdicts,
        limits_source,
        plots_note(output),
    )
    (output / "report.md").write_text(markdown, encoding="utf-8")
    return markdown, verdicts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="report", description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="report folder")
    args = parser.parse_args(argv)
    if not paths.METRICS.is_file():
        raise PipelineError(f"{paths.METRICS} not found: run `dvc repro` first")
    args.output.mkdir(parents=True, exist_ok=True)
    markdown, verdicts = compare(args.base, args.output)
    actions.add_to_summary(markdown)
    actions.set_output("report", str(args.output / "report.md"))
    print(markdown)
    failed = [v for v in verdicts if not v.passed]
    if failed:
        raise PipelineError(
            "quality gate failed: "
            + "; ".join(
                f"{v.metric} {number(v.base)} -> {number(v.head)} ({v.rule})" for v in failed
            )
        )


if __name__ == "__main__":
    run_main(lambda: main(sys.argv[1:]))
