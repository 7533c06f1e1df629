"""Turn the rendered files into a Git + DVC repository with versioned raw data.

Steps: drop files the answers do not use, `git init` on `main`, `dvc init` with Hydra
composition on and analytics off, `dvc add` the demo data, add the default DVC remote
(the demo remote is a folder inside the repository, filled with `dvc push`), lock
dependencies with uv when it is installed, and make the first commit when a Git
identity is configured.
Any failure exits non-zero, and cookiecutter then removes the half-made project.
"""

import contextlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")
PACKAGE = Path("src", ANSWERS["package_name"])

DEMO_FILE = Path("data/raw/penguins-raw.csv")
DEMO_REMOTE = Path("dvc-demo-remote")  # keep in step with the generated README and tests
LOCK_TIMEOUT_SECONDS = 300

# Files and folders rendered for every answer but used only by some.
UNUSED = {
    "operations": {
        "no": [
            str(PACKAGE / "ops"),
            str(PACKAGE / "data/drift.py"),
            str(PACKAGE / "stages/profile.py"),
            "conf/monitor",
            ".github/workflows/monitor.yml",
            ".github/workflows/retrain.yml",
            "Dockerfile",
            ".dockerignore",
            "data/batches",
            "reports/monitoring",
            "tests/test_operations.py",
            "tests/test_api_load.py",
        ]
    },
    "task": {
        "classification": ["conf/model/ridge.yaml"],
        "regression": ["conf/model/logistic_regression.yaml"],
    },
    "demo_data": {
        "penguins": ["conf/data/dataset.yaml"],
        # Without data there is nothing to pick a smaller feature set from.
        "none": [
            "conf/data/penguins.yaml",
            str(DEMO_FILE),
            "conf/features/minimal.yaml",
            "conf/experiment/minimal_features.yaml",
            # These break the demo data and the model trained on it.
            "tests/test_faults.py",
            "tests/test_api_load.py",
            "tests/test_dask_engine.py",
        ],
    },
    "license": {"none": ["LICENSE"]},
    # The demo remote exists only to carry the demo data.
    "dvc_remote": {
        remote: [str(DEMO_REMOTE / "README.md"), "tests/test_demo_remote.py"]
        for remote in ("s3", "gs", "azure", "ssh", "local")
        + (("demo",) if ANSWERS["demo_data"] == "none" else ())
    },
}


class HookError(Exception):
    """A step failed; the message says which and what to do."""


INSTALL_HINTS = {
    "git": "install it with your system's package manager (for example `apt install git`)",
    "dvc": "install it with `pip install dvc` (or `pipx install dvc`)",
}


def find_tool(name):
    found = shutil.which(name)
    if not found:
        raise HookError(
            f"'{name}' was not found on PATH: {INSTALL_HINTS[name]}, or activate the "
            "environment that has it, then run cookiecutter again."
        )
    return found


def run(*command, timeout=None):
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise HookError(f"`{' '.join(map(str, command))}` failed:\n{output}")
    return result.stdout.strip()


def remove_unused_files():
    for prompt, unused in UNUSED.items():
        for path in map(Path, unused.get(ANSWERS[prompt], [])):
            if not path.exists():  # unused for two answers, and already removed
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            if not any(path.parent.iterdir()):
                path.parent.rmdir()


def init_git(git):
    run(git, "init", "--quiet")
    run(git, "symbolic-ref", "HEAD", "refs/heads/main")  # works on every git version


def dvc_runner(dvc):
    """Run DVC commands: in this interpreter when it has DVC, else with the dvc command.

    The same command lines either way; in-process saves starting DVC six times (about
    ten seconds) when cookiecutter and DVC share an environment.
    """
    if importlib.util.find_spec("dvc") is None:
        return lambda *args: run(dvc, *args)
    from dvc.cli import main as dvc_main

    def in_process(*args):
        with contextlib.redirect_stdout(io.StringIO()):
            failed = dvc_main(list(args))
        if failed:
            raise HookError(f"`dvc {' '.join(args)}` failed (DVC's message is above)")

    return in_process


def init_dvc(dvc):
    dvc("init", "--quiet")
    dvc("config", "core.analytics", "false")  # no network at run time
    dvc("config", "hydra.enabled", "true")  # `dvc exp run -S` composes conf/
    if ANSWERS["demo_data"] == "penguins":
        dvc("add", "--quiet", str(DEMO_FILE))


def add_remote(dvc):
    """The default DVC remote; the demo one is a folder in the repository, filled now.

    Without demo data there is nothing for the demo remote to hold, and a folder in git
    is no place for real data: no remote is added, and the README says how to add one.
    """
    if ANSWERS["dvc_remote"] != "demo":
        dvc("remote", "add", "--default", "storage", ANSWERS["remote_url"])
    elif ANSWERS["demo_data"] == "penguins":
        dvc("remote", "add", "--default", "demo", str(DEMO_REMOTE))
        dvc("push", "--quiet")


def lock_dependencies():
    """Pin exact versions in uv.lock when uv is installed; the project works without it."""
    uv = shutil.which("uv")
    if not uv:
        print("note: uv not found, so no uv.lock was written; see README.md, 'Setup'.")
        return
    try:
        run(uv, "lock", "--quiet", "--no-python-downloads", timeout=LOCK_TIMEOUT_SECONDS)
    except (HookError, subprocess.TimeoutExpired) as error:
        Path("uv.lock").unlink(missing_ok=True)
        print(f"warning: could not write uv.lock ({error}); run `uv lock` later.")


def has_git_identity(git):
    def configured(key, variable):
        probe = subprocess.run([git, "config", key], capture_output=True, text=True)
        return bool(probe.stdout.strip() or os.environ.get(variable))

    return configured("user.name", "GIT_AUTHOR_NAME") and configured(
        "user.email", "GIT_AUTHOR_EMAIL"
    )


def first_commit(git):
    run(git, "add", "--all")
    if has_git_identity(git):
        run(git, "commit", "--quiet", "-m", "Initial project from the DVC + Hydra template")
        return
    print(
        "note: no Git identity is configured, so nothing was committed. Finish with:\n"
        '  git config user.name "Your Name" && git config user.email you@example.com\n'
        '  git commit -m "Initial project from the DVC + Hydra template"'
    )


def main():
    try:
        git, dvc = find_tool("git"), dvc_runner(find_tool("dvc"))
        remove_unused_files()
        init_git(git)
        init_dvc(dvc)
        add_remote(dvc)
        lock_dependencies()
        first_commit(git)
    except HookError as error:
        print(f"error: {error}\nNothing was generated.", file=sys.stderr)
        sys.exit(1)
    print(next_steps())


def next_steps():
    """What to run next: the setup command the README gives for this project (uv's when
    uv.lock was written, pip's otherwise), then the pipeline."""
    if Path("uv.lock").is_file():
        setup = "uv sync --frozen --extra dev && source .venv/bin/activate"
    else:
        setup = "python -m venv .venv && source .venv/bin/activate && pip install -e '.[dev]'"
    name = Path.cwd().name
    steps = [f"cd {name}", setup]
    if ANSWERS["demo_data"] == "none":  # DVC stops at clean's missing input, unexplained
        csv, package = "data/raw/<file>.csv", ANSWERS["package_name"]
        steps += [
            f"dvc add {csv}  # your CSV, copied into data/raw/ first",
            f"python -m {package} draft-schema {csv} --target <column>",
        ]
    lines = "".join(f"\n  {step}" for step in [*steps, "dvc repro"])
    return f"Generated {name}. Next (README.md, 'Setup'):{lines}"


if __name__ == "__main__":
    main()
