"""Layer 1: every prompt value bakes into the expected project; bad answers are refused."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import GENERATOR_OUTPUT, TEMPLATE, bake, git, tool_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PROMPTS = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CHOICE_PROMPTS = {
    name: values
    for name, values in PROMPTS.items()
    if isinstance(values, list) and not name.startswith("_")
}

PACKAGE_FILES = [
    "__init__.py", "__main__.py", "features.py", "modeling.py", "metrics.py",
    "evaluation/__init__.py", "evaluation/scoring.py", "evaluation/decision.py",
    "evaluation/tuning.py", "evaluation/gate.py",
    "core/charts.py", "model_card/report_page.py", "stages/report.py",
    "data/__init__.py", "data/draft.py",
    "model_card/__init__.py", "model_card/template.md",
    "data/blocks.py", "data/parquet.py", "data/cleaning.py", "data/splitting.py",
    "data/reading.py", "data/schema.py",
    "core/__init__.py", "core/cluster.py", "core/compose.py", "core/config.py",
    "core/errors.py", "core/files.py", "core/markdown.py", "core/model_file.py", "core/paths.py",
    "core/trust.py", "core/commands.py", "core/actions.py", "core/estimators.py",
    "core/yaml_files.py",
    "stages/__init__.py", "stages/clean.py", "stages/evaluate.py", "stages/featurize.py",
    "stages/split.py", "stages/train.py",
    "review/__init__.py", "review/pull_requests.py", "review/report.py", "review/verify.py",
]  # fmt: skip
OPERATIONS_PACKAGE_FILES = [
    "data/drift.py", "stages/profile.py",
    "ops/__init__.py", "ops/champion.py", "ops/guard.py", "ops/monitor.py", "ops/predict.py",
    "ops/serve.py", "ops/performance.py", "ops/history.py", "ops/release.py", "ops/retrain.py",
    "ops/drift_page.py", "ops/batches.py",
]  # fmt: skip
TEST_FILES = [
    "conftest.py", "test_config.py", "test_featurize_and_split.py", "test_pipeline.py",
    "test_review.py", "test_schema_and_clean.py", "test_draft_schema.py",
    "test_train_and_evaluate.py", "test_files.py", "helpers.py", "exported_tables.py",
    "test_real_exports.py", "test_report_page.py",
]  # fmt: skip
DEMO_CSV = TEMPLATE / "{{cookiecutter.project_slug}}/data/raw/penguins-raw.csv"


def uv_can_lock(python_version: str) -> bool:
    """uv.lock is written when uv finds a local interpreter for the minimum version."""
    probe = subprocess.run(
        ["uv", "python", "find", "--no-python-downloads", f">={python_version}"],
        env=tool_env(),
        capture_output=True,
    )
    return probe.returncode == 0


def expected_git_files(
    package="penguins_ml",
    task="classification",
    demo_data="penguins",
    license="MIT",
    python_version="3.10",
    dvc_remote="demo",
    operations="yes",
) -> set[str]:
    """The files the first commit must hold, written out from the spec."""
    files = {
        ".dvc/.gitignore", ".dvc/config", ".dvcignore", ".gitignore", ".pre-commit-config.yaml",
        "README.md", "dvc.yaml", "params.yaml", "pyproject.toml",
        ".github/workflows/checks.yml", ".github/workflows/pipeline.yml",
        "conf/config.yaml", "conf/review/default.yaml", "conf/evaluate/default.yaml",
        "conf/features/default.yaml",
        "conf/split/default.yaml", "conf/compute/default.yaml", "conf/model/random_forest.yaml",
        "conf/model/hist_gradient_boosting.yaml", "conf/tuning/default.yaml",
        "conf/experiment/forest.yaml", "conf/experiment/tuned_boosting.yaml",
        "data/raw/.gitkeep", "models/.gitkeep", "reports/.gitkeep",
    }  # fmt: skip
    files |= {f"src/{package}/{name}" for name in PACKAGE_FILES}
    files |= {f"tests/{name}" for name in TEST_FILES}
    if operations == "yes":
        files |= {f"src/{package}/{name}" for name in OPERATIONS_PACKAGE_FILES}
        files |= {"conf/monitor/default.yaml", ".github/workflows/monitor.yml"}
        files |= {".github/workflows/retrain.yml", "Dockerfile", ".dockerignore"}
        files |= {"data/batches/.gitkeep", "tests/test_operations.py"}
        files.add("reports/monitoring/history.csv")  # empty: the report stage reads it
    linear = "logistic_regression" if task == "classification" else "ridge"
    files.add(f"conf/model/{linear}.yaml")
    if demo_data == "penguins":
        files |= {"conf/data/penguins.yaml", "data/raw/penguins-raw.csv.dvc", "data/raw/.gitignore"}
        files |= {"conf/features/minimal.yaml", "conf/experiment/minimal_features.yaml"}
        files |= {"tests/test_faults.py", "tests/test_dask_engine.py"}
        if operations == "yes":
            files.add("tests/test_api_load.py")
    else:
        files.add("conf/data/dataset.yaml")
    if license != "none":
        files.add("LICENSE")
    if dvc_remote == "demo" and demo_data == "penguins":  # the CSV, pushed, by content hash
        md5 = hashlib.md5(DEMO_CSV.read_bytes()).hexdigest()
        files.add(f"dvc-demo-remote/files/md5/{md5[:2]}/{md5[2:]}")
        files |= {"dvc-demo-remote/README.md", "tests/test_demo_remote.py"}
    if uv_can_lock(python_version):
        files.add("uv.lock")
    return files


# Jinja left in a generated file; `${{ ... }}` is a GitHub Actions expression, not Jinja.
UNRENDERED_JINJA = re.compile(r"(?<!\$)\{\{|\{%")


def leftover_jinja(project: Path) -> list[str]:
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        if UNRENDERED_JINJA.search(text):
            found.append(str(path.relative_to(project)))
    return found


def pyproject(project: Path) -> dict:
    return tomllib.loads((project / "pyproject.toml").read_text())


# --- defaults --------------------------------------------------------------------


def test_defaults_bake_a_committed_git_and_dvc_repository(baked):
    project = baked()
    assert project.name == "penguins-ml"
    assert (project / "uv.lock").is_file(), "this test environment can lock Python 3.10+"
    assert set(git(project, "ls-files").splitlines()) == expected_git_files()
    assert git(project, "branch", "--show-current") == "main"
    assert git(project, "rev-list", "--count", "HEAD") == "1"
    assert git(project, "status", "--porcelain") == ""
    assert leftover_jinja(project) == []


def test_no_generated_text_file_starts_with_a_blank_line(baked):
    project = baked()
    for name in git(project, "ls-files").splitlines():
        path = project / name
        if path.suffix in {".py", ".yaml", ".yml", ".toml", ".md", ".cfg"}:
            first = path.read_text().split("\n", 1)[0]
            assert first.strip(), f"{name} starts with a blank line"


@pytest.mark.slow
def test_generation_works_when_cookiecutter_and_dvc_live_in_separate_environments(tmp_path):
    """As with `pipx install cookiecutter` and `pipx install dvc`: the hook runs DVC's CLI."""
    venv = tmp_path / "cookiecutter-only"
    for command in (
        ["uv", "venv", "--quiet", "--seed", str(venv)],
        ["uv", "pip", "install", "--quiet", "--python", str(venv / "bin/python"), "cookiecutter"],
    ):
        subprocess.run(command, env=tool_env(), check=True, capture_output=True, timeout=600)
    probe = subprocess.run([str(venv / "bin/python"), "-c", "import dvc"], capture_output=True)
    assert probe.returncode != 0, "this environment must not have DVC"
    output = tmp_path / "out"
    output.mkdir()
    env = tool_env(PATH=path_with_only(tmp_path, {"git", "dvc"}))
    result = subprocess.run(
        [str(venv / "bin/cookiecutter"), "--no-input", str(TEMPLATE), "-o", str(output)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    project = output / "penguins-ml"
    config = (project / ".dvc/config").read_text()
    assert "analytics = false" in config and "url = ../dvc-demo-remote" in config
    md5 = hashlib.md5(DEMO_CSV.read_bytes()).hexdigest()
    assert (project / f"dvc-demo-remote/files/md5/{md5[:2]}/{md5[2:]}").is_file()
    assert git(project, "status", "--porcelain") == ""


def test_raw_data_is_versioned_by_dvc_not_git(baked):
    project = baked()
    raw = project / "data/raw/penguins-raw.csv"
    assert (
        raw.read_bytes()
        == (TEMPLATE / "{{cookiecutter.project_slug}}/data/raw/penguins-raw.csv").read_bytes()
    )
    assert git(project, "check-ignore", "data/raw/penguins-raw.csv") == "data/raw/penguins-raw.csv"
    pointer = yaml.safe_load((project / "data/raw/penguins-raw.csv.dvc").read_text())
    assert pointer["outs"][0]["path"] == "penguins-raw.csv"
    assert len(pointer["outs"][0]["md5"]) == 32


def test_dvc_is_configured_for_hydra_and_no_telemetry(baked):
    config = (baked() / ".dvc/config").read_text()
    assert "[hydra]\n    enabled = true" in config
    assert "[core]\n    analytics = false" in config


def test_demo_data_is_the_raw_penguins_file():
    raw = TEMPLATE / "{{cookiecutter.project_slug}}/data/raw/penguins-raw.csv"
    lines = raw.read_text().splitlines()
    assert len(lines) == 345  # header + 344 penguins
    assert len(lines[0].split(",")) == 17


# --- every value of every prompt -------------------------------------------------

VARIATIONS = [
    pytest.param({prompt: value}, id=f"{prompt}={value}")
    for prompt, values in CHOICE_PROMPTS.items()
    for value in values[1:]  # the first value is the default, baked above
]


@pytest.mark.parametrize("answers", VARIATIONS)
def test_every_choice_bakes_with_the_expected_files(baked, answers):
    project = baked(**answers)
    kinds = {
        key: answers[key]
        for key in ("task", "demo_data", "license", "python_version", "dvc_remote", "operations")
        if key in answers
    }
    assert set(git(project, "ls-files").splitlines()) == expected_git_files(**kinds)
    assert leftover_jinja(project) == []
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.parametrize("version", CHOICE_PROMPTS["python_version"])
def test_python_version_sets_requires_python_and_ruff_target(baked, version):
    project = baked(python_version=version)
    assert pyproject(project)["project"]["requires-python"] == f">={version}"
    assert pyproject(project)["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")


@pytest.mark.parametrize(
    ("task", "target", "model"),
    [
        ("classification", "species", "sklearn.linear_model.LogisticRegression"),
        ("regression", "body_mass_g", "sklearn.linear_model.Ridge"),
    ],
)
def test_task_sets_target_default_model_and_plots(baked, task, target, model):
    project = baked(task=task)
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert (params["task"], params["data"]["target"], params["model"]["_target_"]) == (
        task,
        target,
        model,
    )
    assert target not in params["features"]["numeric"] + params["features"]["categorical"]
    plots = [
        next(iter(entry)) for entry in yaml.safe_load((project / "dvc.yaml").read_text())["plots"]
    ]
    task_plots = (
        ["reports/plots/confusion.csv", "reports/plots/roc", "reports/plots/precision_recall"]
        if task == "classification"
        else ["Predicted vs actual", "Residuals"]
    )
    assert plots == ["reports/plots/importance.csv", "reports/tuning_candidates.csv", *task_plots]


def test_no_demo_data_leaves_an_empty_raw_folder_and_says_what_to_do(baked):
    project = baked(demo_data="none")
    assert sorted(p.name for p in (project / "data/raw").iterdir()) == [".gitkeep"]
    readme = (project / "README.md").read_text()
    assert "generated without demo data" in readme
    assert "dvc add data/raw/<file>.csv" in readme


@pytest.mark.parametrize(
    ("license", "first_line"),
    [
        ("MIT", "MIT License"),
        ("Apache-2.0", "Apache License"),
        ("BSD-3-Clause", "Copyright (c) "),
        ("none", None),
    ],
)
def test_license_choice(baked, license, first_line):
    project = baked(license=license)
    metadata = pyproject(project)["project"]
    if first_line is None:
        assert not (project / "LICENSE").exists()
        assert "license" not in metadata
        return
    text = (project / "LICENSE").read_text()
    assert text.strip().splitlines()[0].strip().startswith(first_line)
    assert metadata["license"] == license
    if license != "Apache-2.0":
        assert "Your Name" in text


def test_project_name_derives_slug_and_package(baked):
    project = baked(project_name="Churn Predictor 2")
    assert project.name == "churn-predictor-2"
    assert (project / "src/churn_predictor_2/stages/train.py").is_file()
    assert (project / "README.md").read_text().startswith("# Churn Predictor 2\n")
    dvc_yaml = (project / "dvc.yaml").read_text()
    assert "python -m churn_predictor_2.stages.clean" in dvc_yaml


def test_slug_and_package_can_be_overridden(baked):
    project = baked(project_slug="my-pipeline", package_name="pipeline_core")
    assert project.name == "my-pipeline"
    assert pyproject(project)["project"]["name"] == "my-pipeline"
    assert set(git(project, "ls-files").splitlines()) == expected_git_files(package="pipeline_core")


def test_free_text_answers_land_in_the_metadata(baked):
    project = baked(
        description="Predicts penguin species from measurements.",
        author_name="Ada O'Neil",
        author_email="ada@example.org",
    )
    metadata = pyproject(project)["project"]
    assert metadata["description"] == "Predicts penguin species from measurements."
    assert metadata["authors"] == [{"name": "Ada O'Neil", "email": "ada@example.org"}]


def test_empty_author_email_is_left_out(baked):
    assert pyproject(baked(author_email=""))["project"]["authors"] == [{"name": "Your Name"}]


# --- the operations half and the package's shape ------------------------------------

OPERATIONS_WORDS = ["gto", "monitor", "champion", "serve", "fastapi", "profile", "drift"]


def python_lines(folder: Path) -> int:
    return sum(len(path.read_text().splitlines()) for path in folder.rglob("*.py"))


def test_without_operations_nothing_mentions_them(baked):
    project = baked(operations="no")
    package = project / "src/penguins_ml"
    assert not (package / "ops").exists() and not (project / "conf/monitor").exists()
    for name in ("README.md", "dvc.yaml", "pyproject.toml", "params.yaml", "conf/config.yaml"):
        text = (project / name).read_text().lower()
        found = [word for word in OPERATIONS_WORDS if re.search(rf"\b{word}", text)]
        assert found == [], f"{name} mentions {found}"
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["clean", "featurize", "split", "train", "evaluate", "report"]
    assert python_lines(baked() / "src/penguins_ml") - python_lines(package) >= 600


@pytest.mark.parametrize("operations", ["yes", "no"])
def test_package_top_level_is_small_and_every_module_says_what_it_is_for(baked, operations):
    package = baked(operations=operations) / "src/penguins_ml"
    entries = sorted(path.name for path in package.iterdir() if path.name != "__pycache__")
    assert len(entries) <= 12, entries
    for module in package.rglob("*.py"):
        docstring = ast.get_docstring(ast.parse(module.read_text()))
        assert docstring, f"{module.relative_to(package)} has no module docstring"


def users_part(project: Path) -> list[Path]:
    """The files the generated README's Layout marks as the user's (the block under
    ``src/<package>/  yours:``), as they are on disk."""
    layout = (project / "README.md").read_text().split("\n## Layout\n", 1)[1]
    yours = layout.split("yours:", 1)[1].split("\nsrc/", 1)[0]
    names = re.findall(r"(?m)^  (\S+)", yours)
    package = project / "src/penguins_ml"
    assert names and all((package / name).exists() for name in names), names
    return [p for name in names for p in [package / name, *(package / name).rglob("*.py")]
            if p.is_file()]  # fmt: skip


@pytest.mark.parametrize("operations", ["yes", "no"])
def test_the_users_part_is_small_and_each_stage_is_thin_io(baked, operations):
    project = baked(operations=operations)
    for stage in (project / "src/penguins_ml/stages").glob("*.py"):
        assert len(stage.read_text().splitlines()) <= 60, stage.name
    files = users_part(project)
    assert {"features.py", "modeling.py", "metrics.py", "clean.py"} <= {p.name for p in files}
    # 1,636 lines before the layout that set the user's part apart; 1,020 before the
    # metrics, the decision and the model's machinery left it (issue 34).
    assert sum(len(path.read_text().splitlines()) for path in files) <= 1000


# Words that belong to one task's code only (metrics, plots, probabilities).
TASK_WORDS = {
    "classification": r"predict_proba|roc_auc|confusion|log_loss|balanced_accuracy|StratifiedKFold",
    "regression": r"root_mean_squared_error|mean_absolute_error|r2_score|residual",
}


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_only_the_chosen_task_is_rendered(baked, task):
    project = baked(task=task)
    (other,) = set(TASK_WORDS) - {task}
    code = [*(project / "src").rglob("*.py"), *(project / "tests").rglob("*.py")]
    for path in [project / "dvc.yaml", *code, *(project / "conf").rglob("*.yaml")]:
        found = re.findall(TASK_WORDS[other], path.read_text())
        assert found == [], f"{path.relative_to(project)} of a {task} project: {found}"
    assert re.search(TASK_WORDS[task], (project / "src/penguins_ml/metrics.py").read_text())


def test_the_command_line_lists_every_command_and_the_script_is_declared(baked):
    project = baked()
    scripts = pyproject(project)["project"]["scripts"]
    assert scripts == {"penguins-ml": "penguins_ml.__main__:main"}
    shown = subprocess.run(
        [sys.executable, "-m", "penguins_ml", "--help"],
        cwd=project,
        env=tool_env(PYTHONPATH=str(project / "src")),
        capture_output=True,
        text=True,
    )
    commands = ["compose", "draft-schema", "verify", "report"]
    commands += ["predict", "serve", "monitor", "add-batches", "champion", "bundle"]
    assert [line.split()[0] for line in shown.stdout.splitlines() if line.startswith("  ")] == (
        commands
    )


def rendered_hooks(tmp_path: Path, **answers: str) -> list[Path]:
    """The hooks as cookiecutter renders them for these answers, written to tmp_path."""
    from cookiecutter.environment import StrictEnvironment
    from cookiecutter.generate import generate_context

    context = generate_context(TEMPLATE / "cookiecutter.json", extra_context=answers)
    for name in ("project_slug", "package_name", "remote_url"):  # derived defaults
        environment = StrictEnvironment(context=context, keep_trailing_newline=True)
        value = context["cookiecutter"][name]
        context["cookiecutter"][name] = environment.from_string(value).render(**context)
    environment = StrictEnvironment(context=context, keep_trailing_newline=True)
    written = []
    for hook in sorted((TEMPLATE / "hooks").glob("*.py")):
        target = tmp_path / hook.name
        target.write_text(environment.from_string(hook.read_text()).render(**context))
        written.append(target)
    return written


def test_rendered_hooks_are_ruff_clean_and_offer_the_prompts_choices(tmp_path):
    hooks = rendered_hooks(tmp_path, project_name='Ada\'s "quoted" model')
    # Long lines are the rendered answers (prompt texts): data rather than code.
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select",
         "E,F,W,B,UP", "--ignore", "E501", *map(str, hooks)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    namespace: dict = {}
    exec(compile(hooks[1].read_text(), str(hooks[1]), "exec"), namespace)  # pre_gen
    assert namespace["ANSWERS"]["project_name"] == 'Ada\'s "quoted" model'
    assert namespace["CHOICES"] == CHOICE_PROMPTS


# --- refusals --------------------------------------------------------------------

BAD_ANSWERS = [
    ("project_slug", "My Project"),
    ("project_slug", "1st-model"),
    ("project_slug", "double--hyphen"),
    ("package_name", "my-package"),
    ("package_name", "class"),
    ("package_name", "json"),
    ("package_name", "pandas"),
    ("package_name", "scipy"),
    ("author_email", "not-an-email"),
    ("description", 'says "hi"'),
    ("author_name", "back\\slash"),
    ("python_version", "3.9"),
    ("task", "ranking"),
    ("demo_data", "iris"),
    ("license", "GPL-3.0"),
    ("dvc_remote", "dropbox"),
    ("operations", "maybe"),
    ("remote_url", "s3://bucket/but-the-remote-is-demo"),
]


@pytest.mark.parametrize(("prompt", "value"), BAD_ANSWERS, ids=[f"{p}={v}" for p, v in BAD_ANSWERS])
def test_bad_answer_is_refused_naming_the_prompt_and_nothing_is_left(tmp_path, prompt, value):
    result = bake(tmp_path, **{prompt: value})
    assert result.returncode != 0
    assert prompt in result.stderr
    assert repr(value) in result.stderr or value in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("s3", "my-bucket/data"),
        ("gs", "s3://bucket/data"),
        ("azure", "azure://"),
        ("ssh", "user@host:/data"),
        ("local", "relative/path"),
    ],
)
def test_remote_url_must_suit_the_remote(tmp_path, remote, url):
    result = bake(tmp_path, dvc_remote=remote, remote_url=url)
    assert result.returncode != 0
    assert f"remote_url: {url!r} is not a {remote} URL" in result.stderr
    assert list(tmp_path.iterdir()) == []


REMOTE_URLS = {
    "s3": "s3://my-bucket/penguins-ml",
    "gs": "gs://my-bucket/penguins-ml",
    "azure": "azure://my-container/penguins-ml",
    "ssh": "ssh://user@storage.example.com/srv/dvc/penguins-ml",
    "local": "/srv/dvc/penguins-ml",
}


@pytest.mark.parametrize("remote", ["demo", *REMOTE_URLS])
def test_remote_is_the_default_with_its_dvc_extra(baked, remote):
    project = baked(dvc_remote=remote)
    config = (project / ".dvc/config").read_text()
    name = "demo" if remote == "demo" else "storage"
    assert f"[core]\n    analytics = false\n    remote = {name}\n" in config
    url = "../dvc-demo-remote" if remote == "demo" else REMOTE_URLS[remote]
    assert f"['remote \"{name}\"']\n    url = {url}" in config
    dvc = next(d for d in pyproject(project)["project"]["dependencies"] if d.startswith("dvc"))
    extra = f"[{remote}]" if remote in ("s3", "gs", "azure", "ssh") else ""
    assert dvc == f"dvc{extra}>=3.50,<4"


def test_without_demo_data_the_demo_remote_is_not_configured(baked):
    project = baked(demo_data="none")
    assert "remote" not in (project / ".dvc/config").read_text()
    assert not (project / "dvc-demo-remote").exists()
    readme = (project / "README.md").read_text()
    assert "No remote is configured yet" in readme
    assert "dvc remote add --default storage s3://<bucket>/<path>" in readme


def test_the_dev_extra_has_what_serving_needs_so_one_install_does_both(baked):
    extras = pyproject(baked())["project"]["optional-dependencies"]
    assert set(extras["serve"]) <= set(extras["dev"])
    readme = (baked() / "README.md").read_text()
    assert "pip install -e '.[serve]'    # FastAPI and uvicorn; the dev extra" in readme
    assert "--extra serve" not in readme  # `uv sync --extra serve` drops the dev tools


def test_a_custom_remote_url_is_used(baked):
    project = baked(dvc_remote="s3", remote_url="s3://team-data/churn/v1")
    assert "url = s3://team-data/churn/v1" in (project / ".dvc/config").read_text()


def path_with_only(tmp_path: Path, tools: set[str]) -> str:
    """A PATH holding just these tools (no Python interpreter, no others)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        os.symlink(shutil_which(tool), folder / tool)
    return str(folder)


@pytest.mark.parametrize("missing", ["git", "dvc"])
def test_missing_tool_is_named_and_nothing_is_left(tmp_path, missing):
    output = tmp_path / "out"
    output.mkdir()
    result = bake(output, env=tool_env(PATH=path_with_only(tmp_path, {"git", "dvc"} - {missing})))
    assert result.returncode != 0
    assert f"'{missing}' was not found on PATH" in result.stderr
    assert {"git": "apt install git", "dvc": "pip install dvc"}[missing] in result.stderr
    assert list(output.iterdir()) == []


def shutil_which(tool: str) -> str:
    found = shutil.which(
        tool, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    assert found, f"{tool} is needed by the template tests"
    return found


def test_without_a_usable_interpreter_uv_lock_is_skipped_with_a_warning(tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    env = tool_env(PATH=path_with_only(tmp_path, {"git", "dvc", "uv"}))
    result = bake(output, env=env)
    assert result.returncode == 0, result.stderr
    assert "warning: could not write uv.lock" in result.stdout
    assert "run `uv lock` later" in result.stdout
    project = output / "penguins-ml"
    assert not (project / "uv.lock").exists()
    assert (project / "dvc.yaml").is_file()
    assert_next_steps_are_the_readmes(result.stdout, project, "pip install -e '.[dev]'")


def assert_next_steps_are_the_readmes(stdout: str, project: Path, installer: str) -> None:
    """The generator's last lines give the README's own setup command, then `dvc repro`."""
    lines = stdout.strip().splitlines()
    setup = lines[lines.index(f"  cd {project.name}") + 1]
    assert lines[-1].strip() == "dvc repro"
    assert installer in setup and setup.strip() in (project / "README.md").read_text()


def test_without_demo_data_the_last_message_adds_data_before_dvc_repro(baked):
    project = baked(demo_data="none")
    readme = (project / "README.md").read_text()
    printed = (project.parent / GENERATOR_OUTPUT).read_text()
    *_, add, draft, repro = [line.strip() for line in printed.strip().splitlines()]
    assert add.startswith("dvc add data/raw/<file>.csv") and repro == "dvc repro"
    assert draft in readme  # the README's own draft-schema command


def test_the_last_message_gives_the_readmes_setup_command(tmp_path):
    result = bake(tmp_path)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "penguins-ml"
    assert (project / "uv.lock").is_file()
    assert_next_steps_are_the_readmes(result.stdout, project, "uv sync --frozen --extra dev")


def test_without_git_identity_nothing_is_committed_and_the_fix_is_printed(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = tool_env(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / "none"), GIT_CONFIG_NOSYSTEM="1")
    for variable in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        env.pop(variable)
    output = tmp_path / "out"
    output.mkdir()
    result = bake(output, env=env)
    assert result.returncode == 0, result.stderr
    project = output / "penguins-ml"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, env=env)
    assert head.returncode != 0
    assert 'git config user.name "Your Name"' in result.stdout
    assert "git commit -m" in result.stdout
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert "params.yaml" in staged.stdout.splitlines()
