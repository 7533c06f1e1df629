"""A pull request, simulated with real git and DVC in a baked project with default answers.

`main` holds reproduced results; a feature branch changes the model. The pipeline
workflow's `run:` steps, read from the workflow file, run in a fresh clone of the
branch (as `actions/checkout` with `fetch-depth: 0` leaves it) with the variables a
runner sets. The raw data reaches the clone only through `dvc pull` from the demo
remote: it is not in git, and no secret is configured.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .browser import render_mermaid
from .conftest import (
    FakeGitHub,
    copy_project,
    dvc,
    fake_github,
    git,
    run,
    run_step,
    runner_env,
    step_outputs,
    workflow_job,
)

pytestmark = pytest.mark.slow

PACKAGE = "penguins_ml"
MODEL_CONF = "conf/model/logistic_regression.yaml"
RAW = "data/raw/penguins-raw.csv"


@pytest.fixture(scope="module")
def origin(reproduced_project, tmp_path_factory) -> Path:
    """The repository pull requests target: `main` with reproduced, committed results."""
    return copy_project(reproduced_project, tmp_path_factory.mktemp("origin"))


def open_branch(origin: Path, branch: str, regularisation: float, reproduce: bool) -> None:
    """A branch off main that sets the model's C in conf/, composed, then committed."""
    git(origin, "checkout", "--quiet", "-b", branch, "main")
    conf = origin / MODEL_CONF
    conf.write_text(re.sub(r"(?m)^C: .*$", f"C: {regularisation}", conf.read_text()))
    run([sys.executable, "-m", PACKAGE, "compose"], cwd=origin)
    if reproduce:
        dvc("repro", cwd=origin)
    git(origin, "add", "--all")
    git(origin, "commit", "--quiet", "-m", f"Set C to {regularisation}")
    git(origin, "checkout", "--quiet", "main")


def run_pipeline_job(origin: Path, branch: str, tmp: Path):
    """Clone ``branch`` as the runner would and run the reproduce job's steps in order.

    Returns the clone, the runner environment and (step name, result) for each step
    run, stopping at the first that fails, as a runner does.
    """
    checkout = tmp / "checkout"
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", branch, str(origin), str(checkout)], check=True
    )
    env = runner_env(tmp, GITHUB_EVENT_NAME="pull_request", GITHUB_BASE_REF="main")
    results = []
    for step in workflow_job(checkout, "pipeline.yml", "reproduce")["steps"]:
        if "run" not in step:
            continue
        result = run_step(step, checkout, env, {})
        results.append((step["name"], result))
        if result.returncode != 0:
            break
    return checkout, env, results


def markdown_table(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the table under ``### heading``, cells stripped of backticks."""
    section = markdown.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    lines = lines[1:]  # the header
    return [[cell.strip().strip("`") for cell in line.strip("|").split("|")] for line in lines]


def committed_json(project: Path, revision: str, path: str) -> dict:
    return json.loads(git(project, "show", f"{revision}:{path}"))


def flattened(values: dict, prefix: str = "") -> dict:
    """Nested metrics (``baseline``) under dotted names, as DVC and the report show them."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat |= flattened(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_pull_request_reports_against_main_and_comments_once(origin, tmp_path):
    """The job's report (params, metrics, data quality) and the comment job's one comment."""
    open_branch(origin, "lighter-regularisation", 0.5, reproduce=True)
    checkout, env, results = run_pipeline_job(origin, "lighter-regularisation", tmp_path)
    failed = [(name, r.stdout + r.stderr) for name, r in results if r.returncode]
    assert not failed, failed
    assert [name for name, _ in results][-1] == (
        "Compare with the base branch and apply the quality gate"
    )

    tracked = git(checkout, "ls-files").splitlines()
    assert RAW not in tracked, "the raw data must reach CI through DVC"
    assert f"{RAW}.dvc" in tracked
    assert (checkout / RAW).is_file(), "dvc pull did not fetch the raw data"

    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "Reproduced: dvc.lock and every metrics file match the commit." in summary
    assert "**Quality gate passed**" in summary
    params = {row[0]: row[1:] for row in markdown_table(summary, "Params")}
    assert params == {"model.C": ["1", "0.5"]}

    base = flattened(committed_json(checkout, "origin/main", "reports/metrics.json"))
    head = flattened(committed_json(checkout, "HEAD", "reports/metrics.json"))
    rows = {
        row[1]: [float(cell) for cell in row[2:5]]
        for row in markdown_table(summary, "Metrics")
        if row[0] == "reports/metrics.json"
    }
    assert set(rows) == set(head)
    for metric, (old, new, change) in rows.items():  # the report shows 6 significant digits
        assert old == pytest.approx(base[metric], rel=1e-5, abs=1e-6)
        assert new == pytest.approx(head[metric], rel=1e-5, abs=1e-6)
        assert change == pytest.approx(head[metric] - base[metric], rel=1e-5, abs=1e-6)
    assert base["log_loss"] != head["log_loss"], "the change should move log loss"

    quality = {row[0]: row[1:] for row in markdown_table(summary, "Data quality")}
    assert quality["rows_in"][:2] == ["344", "344"]

    report = checkout / "pipeline-report"
    assert (report / "report.md").read_text() in summary
    assert not (report / "plots").exists()  # DVC's page: data in a script, Vega from a CDN
    # The branch's own HTML report travels in the artifact; the comment gains charts.
    assert (report / "report.html").read_bytes() == (checkout / "reports/report.html").read_bytes()
    charts = re.findall(r"```mermaid\n(.*?)```", summary, re.DOTALL)
    assert [chart.splitlines()[0] for chart in charts] == [
        "xychart-beta",
        "xychart-beta horizontal",
    ]
    assert "line [" in charts[0] and '"culmen_length_mm"' in charts[1]
    drawn = render_mermaid(summary, "pull-request-charts")  # by the library GitHub uses
    assert drawn.errors == [] and len(drawn.charts) == 2
    assert all(width > 200 and height > 200 for width, height in drawn.charts)
    outputs = step_outputs(Path(env["GITHUB_OUTPUT"]).read_text())
    assert outputs["report"] == "pipeline-report/report.md"
    posts_one_comment_and_updates_it(checkout, env)


def failing_job(origin: Path, branch: str, regularisation: float, reproduce: bool, tmp: Path):
    """Open the branch, run the job; return the checkout, env, and the step that failed."""
    open_branch(origin, branch, regularisation, reproduce)
    checkout, env, results = run_pipeline_job(origin, branch, tmp)
    name, failure = results[-1]
    assert failure.returncode == 1, failure.stdout + failure.stderr
    assert "Traceback" not in failure.stderr
    return checkout, env, name, failure.stderr


def test_stale_dvc_lock_fails_with_the_command_to_run(origin, tmp_path):
    _, env, name, error = failing_job(origin, "forgot-to-reproduce", 0.5, False, tmp_path)
    assert name == "Check that the committed dvc.lock and metrics reproduce"
    assert "stage 'train': changed params params.yaml:model.C" in error
    assert "Run `dvc repro` on your branch and commit" in error
    assert "Reproduction check failed" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_quality_gate_fails_a_crippled_model_and_names_the_limit(origin, tmp_path):
    checkout, env, name, error = failing_job(origin, "crippled-model", 0.0001, True, tmp_path)
    assert name == "Compare with the base branch and apply the quality gate"
    assert "quality gate failed: " in error and "f1_macro" in error
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "**Quality gate failed**" in summary
    gate = {row[0]: row for row in markdown_table(summary, "Quality gate")}
    assert gate["f1_macro"][3:] == ["may drop by at most 0.01", "**failed**"]
    assert float(gate["f1_macro"][2]) < float(gate["f1_macro"][1]) - 0.01
    # The report still exists for the comment and the artifact.
    assert (checkout / "pipeline-report" / "report.md").is_file()


def posts_one_comment_and_updates_it(checkout: Path, env: dict[str, str]) -> None:
    """The comment job's step, run twice against a fake GitHub: one comment, then an edit."""
    steps = workflow_job(checkout, "pipeline.yml", "comment")["steps"]
    (post,) = [step for step in steps if "run" in step]
    # Someone else's comment carrying the marker must not be taken for the bot's.
    hijack = "<!-- pipeline-report --> @everyone, see my link"
    FakeGitHub.comments[:] = [
        {"id": 7, "body": "an unrelated review comment", "user": {"login": "octocat"}},
        {"id": 8, "body": hijack, "user": {"login": "mallory", "type": "User"}},
    ]
    with fake_github() as api_url:
        env["GITHUB_API_URL"] = api_url
        values = {"github.token": "t0ken", "github.event.pull_request.number": "12"}
        first = run_step(post, checkout, env, values)
        assert first.returncode == 0, first.stderr
        assert "created the report comment on pull request #12" in first.stdout
        report = (checkout / "pipeline-report" / "report.md").read_text()
        (checkout / "pipeline-report" / "report.md").write_text(report + "\nsecond push\n")
        second = run_step(post, checkout, env, values)
        assert "updated the report comment on pull request #12" in second.stdout
    assert len(FakeGitHub.comments) == 3, "the second push must edit, not add, a comment"
    assert FakeGitHub.comments[0]["body"] == "an unrelated review comment"
    assert FakeGitHub.comments[1]["body"] == hijack, "another author's comment is never edited"
    assert FakeGitHub.comments[2]["body"].endswith("second push\n")
    assert "<!-- pipeline-report -->" in FakeGitHub.comments[2]["body"]
    assert {auth for _, _, auth in FakeGitHub.requests} == {"Bearer t0ken"}
    assert ("PATCH", "/repos/octo/penguins-ml/issues/comments/1002") in {
        (method, path) for method, path, _ in FakeGitHub.requests
    }
    assert yaml.safe_load((checkout / "params.yaml").read_text())["model"]["C"] == 0.5
