"""The lifecycle as a loop, in a baked project with real git, DVC, GTO and uvicorn.

A labelled batch arrives on main; the retrain workflow's jobs add it, retrain and open a
pull request (against a local fake of GitHub's API); the branch is merged; the pipeline
workflow's release job promotes the retrained model to prod and pushes the tags; the
version in prod is served, from the repository and from the container the Dockerfile
describes. Each workflow step runs as written in the workflow file, in a fresh clone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import (
    BIN,
    FakeGitHub,
    dvc,
    fake_github,
    free_port,
    git,
    run,
    run_job,
    runner_env,
    tool_env,
)
from .test_operations import PACKAGE, RAW, call, commit, gto, once_up, package, raw_records

pytestmark = pytest.mark.slow

BATCH = "data/batches/2026-12-01.csv"
TOKEN = "t0ken"


def labelled_batch(project: Path, rows: int, seed: int) -> pd.DataFrame:
    """Rows shaped like the raw data's, labelled, for penguins not seen before: sampled
    ones, each culmen 0.2 mm longer or shorter, so cleaning keeps them as new rows."""
    raw = pd.read_csv(project / RAW, dtype=str, keep_default_na=False)
    batch = raw.sample(rows, random_state=seed).reset_index(drop=True)
    batch["Individual ID"] = [f"N{900 + i}A1" for i in range(rows)]
    batch["Sample Number"] = [str(900 + i) for i in range(rows)]
    culmen = pd.to_numeric(batch["Culmen Length (mm)"], errors="coerce")
    moved = culmen + np.random.default_rng(seed).choice([-0.2, 0.2], rows)
    batch["Culmen Length (mm)"] = moved.map("{:.1f}".format).where(culmen.notna(), "NA")
    return batch


def clone(origin: Path, destination: Path, branch: str = "main") -> Path:
    run(["git", "clone", "--quiet", "--branch", branch, str(origin), str(destination)], cwd=origin)
    return destination


def test_a_labelled_batch_is_retrained_by_pull_request_released_on_merge_and_served(
    baked, tmp_path
):
    # main, reproduced and released in the environment uv.lock pins, as the workflows
    # use it: a model file is read by the scikit-learn version that wrote it.
    origin = clone(baked(), tmp_path / "origin" / "penguins-ml")
    env = runner_env(tmp_path / "origin")
    for command in (
        "uv sync --locked --extra dev",
        "uv run dvc pull --allow-missing",
        "uv run dvc repro",
        "uv run gto register model --version v1.0.0",
        "uv run gto assign model --version v1.0.0 --stage prod",
        "uv run dvc push",  # the README's release: tags, then the model, pushed
    ):
        run(command.split(), cwd=origin, **env)
        if command == "uv run dvc repro":
            commit(origin, "Reproduce the pipeline")
    commit(origin, "Push v1.0.0's model to the demo remote")

    # A labelled batch arrives on main, versioned with DVC.
    labelled_batch(origin, 80, seed=11).to_csv(origin / BATCH, index=False)
    run(["uv", "run", "dvc", "add", BATCH], cwd=origin, **env)
    run(["uv", "run", "dvc", "push", f"{BATCH}.dvc"], cwd=origin, **env)
    commit(origin, "A labelled batch")
    main_sha = git(origin, "rev-parse", "HEAD").strip()

    # The retrain job, on a schedule, in a fresh clone of main.
    checkout = clone(origin, tmp_path / "retrain" / "penguins-ml")
    env = runner_env(tmp_path / "retrain", GITHUB_EVENT_NAME="schedule", GITHUB_SHA=main_sha)
    outputs = run_job(checkout, "retrain.yml", "retrain", env, {})
    title, branch = outputs["add"]["title"], outputs["add"]["branch"]
    batch_md5 = hashlib.md5((origin / BATCH).read_bytes()).hexdigest()
    assert (title, branch) == (
        "Retrain with 80 labelled rows from `2026-12-01.csv`",
        f"retrain/2026-12-01-{batch_md5[:8]}",  # a checked slug and the batch's own hash
    )
    artifact = Path(env["RUNNER_TEMP"]) / "retrain"
    description = (artifact / "description.md").read_text()
    assert description.startswith(title) and "| rows_in " in description

    # The pull-request job: pushes the bundled branch and opens the pull request.
    pushing = clone(origin, tmp_path / "pull-request" / "penguins-ml")
    shutil.copytree(artifact, pushing / "retrain")  # what download-artifact puts there
    env = runner_env(tmp_path / "pull-request", GITHUB_EVENT_NAME="schedule")
    needs = {
        "secrets.RETRAIN_TOKEN || github.token": TOKEN,
        "needs.retrain.outputs.branch": branch,
        "needs.retrain.outputs.title": title,
    }
    FakeGitHub.pulls.clear()
    with fake_github() as api_url:
        env["GITHUB_API_URL"] = api_url
        run_job(pushing, "retrain.yml", "pull-request", env, needs)
        run_job(pushing, "retrain.yml", "pull-request", env, needs)  # a rerun: same PR
    (pull,) = FakeGitHub.pulls
    assert (pull["head"], pull["base"], pull["title"]) == (branch, "main", title)
    assert pull["body"] == description
    assert {auth for _, _, auth in FakeGitHub.requests} == {f"Bearer {TOKEN}"}

    # The branch holds the batch, its record and a pipeline that is up to date.
    record = git(origin, "show", f"{branch}:data/added_batches.csv").splitlines()
    assert record[0] == "batch,md5,rows" and re.fullmatch(r"2026-12-01\.csv,\w{32},80", record[1])
    review = clone(origin, tmp_path / "review" / "penguins-ml", branch)
    dvc("pull", cwd=review)
    assert "up to date" in dvc("status", cwd=review).stdout  # no stage would run
    quality = json.loads((review / "reports/data_quality.json").read_text())
    assert quality["rows_in"] == 344 + 80

    # Merged: the release job of the pipeline workflow, on the push to main.
    git(origin, "merge", "--quiet", "--ff-only", branch)
    releasing = clone(origin, tmp_path / "release" / "penguins-ml")
    env = runner_env(tmp_path / "release", GITHUB_EVENT_NAME="push")
    run_job(releasing, "pipeline.yml", "release", env, {"github.token": TOKEN})
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "promoted: model v1.1.0 is now in prod" in summary
    assert gto(origin, "show", "model#prod", "--ref") == "model@v1.1.0"  # the pushed tags

    # The same push released again (a rerun): nothing to release, nothing changes.
    run_job(releasing, "pipeline.yml", "release", env, {"github.token": TOKEN})
    assert (
        "is this commit's model: nothing to release" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    )
    assert "model@v1.2.0" not in git(origin, "tag")

    serves_prod(origin, tmp_path)
    container_serves_its_bundle(origin, tmp_path / "container")


def serves_prod(project: Path, tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [".venv/bin/python", "-m", PACKAGE, "serve", "--port", str(port), "--stage", "prod"],
        cwd=project, env=tool_env(PYTHONPATH=str(project / "src")),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        status, metadata = once_up(f"http://127.0.0.1:{port}/metadata", server)
        assert (status, metadata["version"], metadata["stage"]) == (200, "v1.1.0", "prod")
    finally:
        server.terminate()
        server.wait(timeout=10)


def docker_instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(instruction, arguments) in order: comments dropped, continued lines joined."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def build_context(project: Path, folder: Path) -> Path:
    """What .dockerignore lets through to the build: it ignores all (`*`) but `!` names."""
    rules = (project / ".dockerignore").read_text().splitlines()
    assert "*" in rules, ".dockerignore should let through only what the image needs"
    folder.mkdir(parents=True)
    for name in (rule[1:].rstrip("/") for rule in rules if rule.startswith("!")):
        source = project / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, folder / name)
    return folder


def container_serves_its_bundle(project: Path, root: Path) -> None:
    """The Dockerfile's own commands, run as a script in a fresh directory: its COPY from
    the build context, ENV, WORKDIR and RUN (uv from this environment instead of the uv
    image), then its CMD, probed with its HEALTHCHECK. `/app` becomes ``root``/app."""
    readme = (project / "README.md").read_text()
    bundling = f"python -m {PACKAGE} bundle --stage prod --output release"
    assert bundling in readme and "docker build" in readme
    package(project, *bundling.split()[3:])
    lint = run([str(BIN / "hadolint"), "Dockerfile"], cwd=project, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    context = build_context(project, root / "context")
    app = root / "app"

    def here(text: str) -> str:
        return text.replace("/app", str(app))

    env = tool_env(UV_CACHE_DIR=os.environ.get("UV_CACHE_DIR", ""))
    env = {k: v for k, v in env.items() if v and k != "VIRTUAL_ENV"}
    cwd, health, command, users = root, None, None, []
    for instruction, arguments in docker_instructions(project / "Dockerfile"):
        if instruction == "FROM" or instruction in ("EXPOSE", "ARG"):
            continue
        if instruction == "WORKDIR":
            cwd = Path(here(arguments))
            cwd.mkdir(parents=True, exist_ok=True)
        elif instruction == "ENV":
            for name, value in re.findall(r"(\w+)=(\S+)", arguments):
                env[name] = here(value).replace("$PATH", env["PATH"])
        elif instruction == "COPY" and arguments.startswith("--from="):
            stage, source, target = arguments.split()
            # uv's image gives the uv binary (ours is on PATH); the build stage's /app is
            # this same directory.
            assert stage == "--from=uv" or here(source) == here(target), arguments
        elif instruction == "COPY":
            *sources, target = arguments.split()
            for source in sources:
                found = context / source
                assert found.exists(), f"COPY {source}: not in the build context"
                destination = cwd / target
                if found.is_dir():
                    shutil.copytree(found, destination, dirs_exist_ok=True)
                else:
                    destination.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(found, destination / found.name)
        elif instruction == "RUN" and arguments.startswith("useradd "):
            # Image setup, not an install step: checked, not run on this machine.
            users.append(re.search(r"--uid (\d+)", arguments)[1])
        elif instruction == "RUN":
            done = subprocess.run(
                ["bash", "-e", "-c", here(arguments)],
                cwd=cwd, env=env, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            assert done.returncode == 0, f"RUN {arguments}:\n{done.stdout}\n{done.stderr}"
        elif instruction == "USER":
            assert arguments == users[-1], "USER should be the user the image creates"
        elif instruction == "HEALTHCHECK":
            health = json.loads(arguments[arguments.index("CMD") + 3 :])
        elif instruction == "CMD":
            command = json.loads(arguments)
        else:
            pytest.fail(f"the test does not know the Dockerfile instruction {instruction}")
    assert users and users[-1] not in ("root", "0"), "the service must not run as root"
    assert command[1:3] == ["serve", "--host"] and "--bundle" in command
    port = free_port()
    started = [*command, "--port", str(port)]  # the last --port counts
    server = subprocess.Popen(
        started, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        status, metadata = once_up(f"http://127.0.0.1:{port}/metadata", server)
        assert (status, metadata["version"], metadata["stage"]) == (200, "v1.1.0", "prod")
        probe = [part.replace(":8000", f":{port}") for part in health]
        assert subprocess.run(probe, env=env, timeout=30).returncode == 0
        status, answer = call(f"http://127.0.0.1:{port}/predict", raw_records(project / RAW)[:2])
        assert status == 200 and answer["version"] == "v1.1.0"
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert not (app / ".git").exists() and not (app / "data").exists()
