"""Bake projects with the real cookiecutter CLI and run real git, DVC and pytest in them.

Each distinct set of answers is baked once per run (baking runs git, DVC and uv), and the
default project is reproduced once per run (``reproduced_project``): the xdist workers
share both, through a folder of the run and a file lock (``made_once``). Tests that
change a project work on their own copy of it, DVC cache included, so they rerun only
what they change. One real, online `uv lock` per run fills uv's cache
(``warm_uv_cache``); every bake after it locks offline from that cache, which writes the
same kind of uv.lock in a fraction of the time.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

TEMPLATE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# `pytest -n 2` runs two test processes, one per core. Each of their subprocesses would
# otherwise start an OpenMP and a BLAS pool of one thread per core, and the pools of the
# two would contend and spin: measured, gradient-boosting fits ran three times slower.
# Every process of a run gets the same setting, so runs compared with each other agree.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first: with `-n 2`, the many short rendering tests then fill the end of
    the run on whichever worker finishes its last long test first, instead of one worker
    idling while the other runs a multi-minute test that happened to be collected last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def interpreter_dirs() -> list[str]:
    """Real interpreter folders of a pyenv install, which uv can use and its shims cannot."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    return sorted(str(path) for path in versions.glob("3.*/bin")) if versions.is_dir() else []


def tool_env(**overrides: str) -> dict[str, str]:
    """This environment's tools first on PATH, a fixed git identity, no DVC analytics."""
    path = os.pathsep.join([str(BIN), *interpreter_dirs(), os.environ.get("PATH", "")])
    env = {
        **os.environ,
        "PATH": path,
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "Template Tests",
        "GIT_AUTHOR_EMAIL": "tests@example.com",
        "GIT_COMMITTER_NAME": "Template Tests",
        "GIT_COMMITTER_EMAIL": "tests@example.com",
    }
    env.pop("PYTHONPATH", None)
    env.update(overrides)
    return env


def bake(output_dir: Path, env: dict[str, str] | None = None, **answers: str):
    """Run `cookiecutter --no-input` on this template, as a user would.

    The hook's `uv lock` runs offline, from the cache ``warm_uv_cache`` filled.
    """
    command = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE)]
    command += ["--output-dir", str(output_dir)]
    command += [f"{prompt}={value}" for prompt, value in answers.items()]
    return subprocess.run(
        command, env=env or tool_env(UV_OFFLINE="1"), capture_output=True, text=True, timeout=600
    )


def run(
    command: list[str], cwd: Path, check: bool = True, **env: str
) -> subprocess.CompletedProcess:
    """Run a command in a baked project, importing that project's own package."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=tool_env(PYTHONPATH=str(cwd / "src"), **env),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "dvc", *args], cwd=cwd, check=check)


def stages_run(result: subprocess.CompletedProcess | str) -> list[str]:
    """The stages DVC says it ran, in order, from its own output (or that output)."""
    output = result if isinstance(result, str) else result.stdout
    ran = [line for line in output.splitlines() if line.startswith("Running stage '")]
    return [line.split("'")[1] for line in ran]


def git(project: Path, *args: str) -> str:
    """Run git in ``project``; fail the test with git's own message if it fails."""
    result = subprocess.run(
        ["git", *args], cwd=project, env=tool_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def copy_of_template(destination: Path) -> Path:
    """This checkout's tracked files, as a fresh clone would have them, in ``destination``."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=TEMPLATE, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE / name, destination / name)
    return destination


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def project_dependencies() -> list[str]:
    """The generated pyproject's dependencies and extras, with every DVC remote's extra."""
    text = (TEMPLATE / "{{cookiecutter.project_slug}}" / "pyproject.toml").read_text()
    found = re.findall(r'^    "([a-z][^"]*)",', text, flags=re.MULTILINE)
    dvc = "dvc[s3,gs,azure,ssh]>=3.50,<4"
    return sorted({dvc if name.startswith("dvc") else name for name in found})


def lock_online(folder: Path, python_version: str) -> None:
    """`uv lock`, online, of everything a generated project may depend on."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "warm"\nversion = "0"\nrequires-python = ">={python_version}"\n'
        f"dependencies = {json.dumps(project_dependencies())}\n"
    )
    result = subprocess.run(
        ["uv", "lock", "--no-python-downloads"],
        cwd=folder,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (each has its own basetemp in it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(folder: Path, make: Callable[[Path], object]) -> Path:
    """``folder``, made by ``make(folder)`` by the first worker that asks for it; the
    others wait on its lock, then use what it made. A failed attempt is made again."""
    with (folder.parent / f"{folder.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        made = folder.parent / f"{folder.name}.made"
        if not made.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            make(folder)
            made.touch()
    return folder


@pytest.fixture(scope="session")
def warm_uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], None]:
    """``warm_uv_cache(python_version)``: fill uv's cache for that minimum Python, once
    per run.

    Versions resolve differently for each minimum Python, so each needs its own lock.
    """
    shared = shared_folder(tmp_path_factory)

    def warm(python_version: str = "3.10") -> None:
        made_once(shared / f"uv-warm-{python_version}", lambda f: lock_online(f, python_version))

    return warm


GENERATOR_OUTPUT = "generator-output.txt"  # beside each session bake, not inside it
DEFAULT_ANSWERS = {
    prompt: value[0] if isinstance(value, list) else value
    for prompt, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items()
    if not prompt.startswith("_") and "{{" not in str(value)
}


@pytest.fixture(scope="session")
def baked(
    tmp_path_factory: pytest.TempPathFactory, warm_uv_cache: Callable[[str], None]
) -> Callable[..., Path]:
    """``baked(**answers)``: the project baked with those answers, once per run, shared
    by the workers: never change it, change a ``copy_of`` it. What the generator printed
    is kept beside it, in ``GENERATOR_OUTPUT``."""
    shared = shared_folder(tmp_path_factory)

    def make(output: Path, answers: dict[str, str]) -> None:
        warm_uv_cache(answers.get("python_version", "3.10"))
        result = bake(output, **answers)
        assert result.returncode == 0, result.stdout + result.stderr
        (output / GENERATOR_OUTPUT).write_text(result.stdout)

    def get(**answers: str) -> Path:
        # An answer that is the prompt's default bakes the same project as no answer.
        key = sorted((k, v) for k, v in answers.items() if DEFAULT_ANSWERS.get(k) != v)
        name = hashlib.md5(json.dumps(key).encode()).hexdigest()[:12]
        output = made_once(shared / f"bake-{name}", lambda folder: make(folder, answers))
        (project,) = [path for path in output.iterdir() if path.is_dir()]
        return project

    return get


REPRO_OUTPUT = "repro-output.txt"  # beside the reproduced project: what `dvc repro` said


def clone_and_reproduce(project: Path, destination: Path) -> Path:
    """A clone of ``project`` that got its data through DVC, reproduced and committed;
    what `dvc repro` printed is kept beside it, in ``REPRO_OUTPUT``."""
    subprocess.run(["git", "clone", "--quiet", str(project), str(destination)], check=True)
    dvc("pull", "--allow-missing", cwd=destination)
    (destination.parent / REPRO_OUTPUT).write_text(dvc("repro", cwd=destination).stdout)
    run(["git", "add", "--all"], cwd=destination)
    run(["git", "commit", "--quiet", "-m", "Reproduce the pipeline"], cwd=destination)
    return destination


@pytest.fixture(scope="session")
def reproduced_project(baked, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default project, cloned, its data pulled through DVC, reproduced and committed:
    once per run, shared by the workers. Never change it: change a ``copy_of`` it, which
    carries its DVC cache, so `dvc repro` there reruns only what the test changed."""
    folder = made_once(
        shared_folder(tmp_path_factory) / "reproduced",
        lambda folder: clone_and_reproduce(baked(), folder / "penguins-ml"),
    )
    return folder / "penguins-ml"


def copy_project(project: Path, destination: Path) -> Path:
    """A private copy of ``project`` (git and DVC state included) in ``destination``."""
    target = destination / project.name
    shutil.copytree(project, target, symlinks=True)
    return target


@pytest.fixture
def copy_of(tmp_path: Path) -> Callable[[Path], Path]:
    """``copy_of(project)``: a private copy (git and DVC state included) to change freely."""
    return lambda project: copy_project(project, tmp_path)


EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def workflow_job(project: Path, workflow: str, job: str) -> dict:
    """One job of a generated workflow, as parsed from the file itself."""
    path = project / ".github" / "workflows" / workflow
    return yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"][job]


def run_step(
    step: dict, cwd: Path, env: dict[str, str], expressions: dict[str, str]
) -> subprocess.CompletedProcess:
    """A `run:` step as a runner runs it: `bash -e`, with the step's own `env:`.

    ``${{ ... }}`` in the step's env is replaced from ``expressions``; one the test
    does not know fails it, so a new expression cannot slip by untested.
    """

    def value(text: str) -> str:
        def replace(match: re.Match) -> str:
            if match[1] not in expressions:
                pytest.fail(f"step {step.get('name')!r} uses the expression {match[1]!r}")
            return expressions[match[1]]

        return EXPRESSION.sub(replace, str(text))

    assert "${{" not in step["run"], f"expression inside run: {step['run']}"
    step_env = {**env, **{name: value(text) for name, text in (step.get("env") or {}).items()}}
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=cwd,
        env=step_env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def step_applies(step: dict, cwd: Path, outputs: dict[str, dict[str, str]] | None = None) -> bool:
    """A step's ``if:``, for the conditions the generated workflows use on `run:` steps:
    a file's presence, or an earlier step's output (``outputs``: step id to its outputs)."""
    condition = step.get("if")
    if condition is None:
        return True
    if match := re.fullmatch(r"steps\.([\w-]+)\.outputs\.(\w+) != ''", condition):
        return bool((outputs or {}).get(match[1], {}).get(match[2]))
    match = re.fullmatch(r"hashFiles\('([^']+)'\) != ''", condition)
    assert match, f"step {step.get('name')!r}: the tests do not know the condition {condition!r}"
    return (cwd / match[1]).is_file()


def run_job(
    project: Path, workflow: str, job: str, env: dict[str, str], expressions: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Every `run:` step of a job that its ``if:`` lets run, in order, each asserted to
    pass; the outputs of the steps with an ``id``. (`uses:` steps are the test's part.)"""
    outputs: dict[str, dict[str, str]] = {}
    output_file = Path(env["GITHUB_OUTPUT"])
    for step in workflow_job(project, workflow, job)["steps"]:
        if "run" not in step or not step_applies(step, project, outputs):
            continue
        known = {
            f"steps.{step_id}.outputs.{name}": value
            for step_id, values in outputs.items()
            for name, value in values.items()
        }
        output_file.write_text("")
        result = run_step(step, project, env, {**expressions, **known})
        assert result.returncode == 0, f"{step['name']}:\n{result.stdout}\n{result.stderr}"
        if "id" in step:
            outputs[step["id"]] = step_outputs(output_file.read_text())
    return outputs


def step_outputs(text: str) -> dict[str, str]:
    """A step's ``$GITHUB_OUTPUT`` file read as the runner reads it: ``name=value`` lines,
    and ``name<<DELIMITER`` blocks whose value runs to a line holding the delimiter."""
    values, lines = {}, iter(text.splitlines())
    for line in lines:
        name, heredoc, delimiter = line.partition("<<")
        if heredoc and "=" not in name:
            block = []
            for value_line in lines:
                if value_line == delimiter:
                    break
                block.append(value_line)
            else:
                raise AssertionError(f"output {name}: no closing {delimiter}")
            values[name] = "\n".join(block)
        elif "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
    return values


class FakeGitHub(BaseHTTPRequestHandler):
    """GitHub's issue-comment and pull-request endpoints, kept in memory, on 127.0.0.1."""

    comments: ClassVar[list[dict]] = []
    pulls: ClassVar[list[dict]] = []
    requests: ClassVar[list[tuple[str, str, str]]] = []

    def reply(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path, self.headers["Authorization"]))
        if "/pulls?" in self.path:
            owner = self.path.split("/")[2]
            head = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["head"][0]
            found = [p for p in self.pulls if f"{owner}:{p['head']}" == head]
            self.reply(200, [p for p in found if p["state"] == "open"])
            return
        page = int(re.search(r"[?&]page=(\d+)", self.path)[1])
        self.reply(200, self.comments[(page - 1) * 100 : page * 100])

    def do_POST(self) -> None:
        self.requests.append(("POST", self.path, self.headers["Authorization"]))
        if self.path.endswith("/pulls"):
            self.pulls.append({"number": 40 + len(self.pulls), "state": "open", **self.read_body()})
            self.reply(201, self.pulls[-1])
            return
        author = {"login": "github-actions[bot]", "type": "Bot"}  # a GITHUB_TOKEN's
        self.comments.append({"id": 1000 + len(self.comments), "user": author, **self.read_body()})
        self.reply(201, self.comments[-1])

    def do_PATCH(self) -> None:
        self.requests.append(("PATCH", self.path, self.headers["Authorization"]))
        number = int(self.path.rsplit("/", 1)[1])
        kept = self.pulls if "/pulls/" in self.path else self.comments
        (item,) = [i for i in kept if i.get("id", i.get("number")) == number]
        item.update(self.read_body())
        self.reply(200, item)

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


@contextmanager
def fake_github() -> Iterator[str]:
    """A FakeGitHub server for the duration; yields its URL, for GITHUB_API_URL."""
    FakeGitHub.requests.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def runner_env(tmp: Path, **github: str) -> dict[str, str]:
    """The tools of this environment plus the variables a GitHub runner sets."""
    env = tool_env(
        RUNNER_TEMP=str(tmp / "runner-temp"),
        GITHUB_STEP_SUMMARY=str(tmp / "step-summary.md"),
        GITHUB_OUTPUT=str(tmp / "step-output.txt"),
        GITHUB_REPOSITORY="octo/penguins-ml",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_RUN_ID="4242",
        **github,
    )
    env.pop("VIRTUAL_ENV", None)
    # A hosted runner writes bytecode; without it, every Python process of a step would
    # recompile pandas and scikit-learn in the environment `uv sync` has just made.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    (tmp / "runner-temp").mkdir(parents=True, exist_ok=True)
    return env
