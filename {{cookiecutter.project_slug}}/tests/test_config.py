"""conf/, params.yaml and dvc.yaml agree with each other and with the code; bad params
are refused before any work, naming the key."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from {{ cookiecutter.package_name }}.__main__ import COMMANDS
from {{ cookiecutter.package_name }}.core import paths
from {{ cookiecutter.package_name }}.core.compose import (
    check,
    compose_params,
    main,
)
from {{ cookiecutter.package_name }}.core.config import (
    DATA_DIRS_VARIABLE,
    Data,
    flatten,
    load_params,
    read_params,
    read_section,
)
from {{ cookiecutter.package_name }}.core.errors import ConfigError
from {{ cookiecutter.package_name }}.core.trust import estimator_class
from {{ cookiecutter.package_name }}.modeling import MODEL_LIBRARIES

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
PACKAGE = paths.__name__.split(".")[0]
DVC_STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def test_params_yaml_is_the_composition_of_conf():
    assert check(ROOT / "params.yaml", CONF) == [], (
        f"params.yaml differs from conf/ at these keys. `python -m {PACKAGE} compose` rewrites "
        "it from conf/; to keep an experiment's values (`dvc exp run -S ...`), set them in "
        "conf/ first."
    )


def test_params_yaml_is_valid():
    assert load_params(ROOT / "params.yaml").seed == read_params(ROOT / "params.yaml")["seed"]


def test_check_names_the_keys_that_drifted(tmp_path):
    params = read_params(ROOT / "params.yaml")
    params["split"]["test_size"] = 0.5
    params["extra"] = 1
    drifted = tmp_path / "params.yaml"
    drifted.write_text(yaml.safe_dump(params), encoding="utf-8")
    assert check(drifted, CONF) == ["extra", "split.test_size"]


def test_raw_data_outside_the_project_needs_its_directory_listed(monkeypatch, tmp_path):
    data = read_params(ROOT / "params.yaml")["data"]
    shared = tmp_path / "shared"
    monkeypatch.delenv(DATA_DIRS_VARIABLE, raising=False)
    for outside in (str(shared / "raw.csv"), "../raw.csv", "data/../../raw.csv"):
        with pytest.raises(ValueError, match="must be inside the project"):
            Data.model_validate({**data, "raw_path": outside})
    assert Data.model_validate({**data, "raw_path": "data/raw/../raw/x.csv"})
    monkeypatch.setenv(DATA_DIRS_VARIABLE, f"/elsewhere:{shared}")
    assert Data.model_validate({**data, "raw_path": str(shared / "raw.csv")})
    with pytest.raises(ValueError, match="must be inside the project"):
        Data.model_validate({**data, "raw_path": str(tmp_path / "raw.csv")})


@pytest.mark.parametrize("choice", sorted(p.stem for p in (CONF / "model").glob("*.yaml")))
def test_every_model_choice_composes_to_a_target(choice):
    model = compose_params([f"model={choice}"], config_dir=CONF)["model"]
    assert estimator_class(model["_target_"], MODEL_LIBRARIES)  # importable, and an estimator


def test_unknown_group_choice_is_a_config_error():
    with pytest.raises(ConfigError, match="does not compose"):
        compose_params(["model=no_such_model"], config_dir=CONF)


def test_compose_command_writes_overrides_and_check_catches_them(project_copy):
    main(["model=random_forest"])
    assert "RandomForest" in load_params().model.target
    with pytest.raises(ConfigError, match=r"model\._target_"):
        main(["--check"])
    main([])
    main(["--check"])


BAD_CONF = [
    ("config.yaml", "tsk: classification\n", r"tsk: not a key the template knows"),
    (
        "split/default.yaml",
        "test_size: a lot\nvalidation_size: 0.2\n",
        r"split\.test_size: .*'a lot'",
    ),
    (
        "split/default.yaml",
        "test_size: 0.2\nvalidation_size: 0.2\nshuffle: true\n",
        r"split\.shuffle",
    ),
    ("split/default.yaml", "validation_size: 0.2\n", r"split\.test_size: Field required"),
    ("split/default.yaml", "test_size: 0.2\n  shuffle: true\n", r"split/default\.yaml, line 2"),
]


@pytest.mark.parametrize(("file", "text", "message"), BAD_CONF)
def test_compose_refuses_bad_conf_naming_the_key_and_writes_nothing(
    project_copy, file, text, message
):
    before = paths.PARAMS.read_bytes()
    conf = paths.CONF / file
    conf.write_text(conf.read_text() + text if file == "config.yaml" else text)
    with pytest.raises(ConfigError, match=message):
        main([])
    assert paths.PARAMS.read_bytes() == before


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("split", {"test_size": "a lot", "validation_size": 0.2}, r"split\.test_size"),
        (
            "tuning",
            {"enabled": False, "candidates": 0, "folds": 3, "scoring": "r2"},
            r"tuning\.candidates",
        ),
        ("seed", "forty-two", r"seed: .*'forty-two'"),
        ("seed", "42", r"seed: expected a number, not text: write it without quotes"),
        ("seed", -1, r"seed: Input should be greater than or equal to 0"),
        ("split", {"test_size": "0.2", "validation_size": 0.2}, r"split\.test_size: expected a"),
        (
            "tuning",
            {"enabled": "yes", "candidates": 2, "folds": 3, "scoring": "r2"},
            r"tuning\.enabled: expected true or false, not text",
        ),
        ("model", {"C": 1.0}, r"model\._target_: Field required"),
    ],
)
def test_a_stage_refuses_bad_params_naming_the_key(project_copy, key, value, message):
    params = read_params()
    params[key] = value
    paths.PARAMS.write_text(yaml.safe_dump(params), encoding="utf-8")
    paths.TRAIN.unlink(missing_ok=True)  # left by an earlier `dvc repro`, if any
    result = subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.stages.split"], capture_output=True, text=True
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ConfigError.__name__ not in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert not paths.TRAIN.exists()


class Sizes(BaseModel):
    """A section of the user's own, as a stage of theirs might type it."""

    model_config = ConfigDict(extra="forbid")
    top: int = Field(ge=1)


def with_section(folder: Path, **sections: object) -> Path:
    params = {**read_params(ROOT / "params.yaml"), **sections}
    (folder / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return folder / "params.yaml"


def test_a_section_of_your_own_is_read_in_one_call_and_typed_on_request(tmp_path):
    path = with_section(tmp_path, sizes={"top": 3})
    assert read_section("sizes", path=path) == {"top": 3}
    assert read_section("sizes", Sizes, path=path).top == 3
    assert "sizes" not in load_params(path).model_dump()["data"]  # template sections unchanged


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({}, r"no section 'sizes': add conf/sizes/default\.yaml, list `- sizes: default`"),
        ({"sizes": {"top": 0}}, r"sizes\.top: Input should be greater than or equal to 1"),
        ({"sizes": {"top": 3, "bottom": 1}}, r"sizes\.bottom: Extra inputs are not permitted"),
        ({"sizes": 3}, r"sizes: not a key the template knows; .*\(conf/sizes/default\.yaml"),
    ],
)
def test_a_section_of_your_own_that_is_missing_or_wrong_is_named(tmp_path, sections, message):
    with pytest.raises(ConfigError, match=message):
        read_section("sizes", Sizes, path=with_section(tmp_path, **sections))


def test_a_yaml_error_names_the_file_and_line(project_copy):
    paths.PARAMS.write_text("seed: 1\nsplit: [unclosed\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"params\.yaml, line 3, column 1: not valid YAML: expected ','"
    ):
        load_params()


def test_dvc_yaml_outputs_are_the_paths_the_code_writes():
    declared = {
        next(iter(out)) if isinstance(out, dict) else out
        for stage in DVC_STAGES.values()
        for out in stage.get("outs", [])
    }
    written = {
        str(value)
        for name, value in vars(paths).items()
        if name.isupper() and name not in ("PARAMS", "CONF", "MONITORING", "HISTORY")
    }  # the last two are monitor's, outside the pipeline: the report stage reads them
    assert written <= declared  # a stage of your own may write paths of its own


def test_each_stage_command_runs_its_own_module():
    for name, stage in DVC_STAGES.items():
        assert stage["cmd"] == f"python -m {PACKAGE}.stages.{name}"
        assert f"src/{PACKAGE}/stages/{name}.py" in stage["deps"]


def package_modules_used_by(module: Path) -> set[Path]:
    """The package's own modules that ``module`` imports, directly or through others."""
    seen: set[Path] = set()
    pending = [module]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = path.parents[node.level - 1].joinpath(*(node.module or "").split("."))
            candidates = [base.with_suffix(".py"), base / "__init__.py"]
            candidates += [base / f"{a.name}.py" for a in node.names]
            found = [c for c in candidates if c.is_file()]
            assert found, f"{path.name}, line {node.lineno}: imports what is not there"
            pending += found
    return seen


def only_a_docstring(path: Path) -> bool:
    return path.name == "__init__.py" and len(ast.parse(path.read_text(encoding="utf-8")).body) <= 1


def test_each_stage_depends_on_exactly_the_modules_it_runs():
    """A change to code a stage runs reruns it; a change to code it does not run (a chart
    for another stage, the command line, the CI helpers) leaves it alone."""
    wrong = {}
    for name, stage in DVC_STAGES.items():
        used = package_modules_used_by(ROOT / f"src/{PACKAGE}/stages/{name}.py")
        wanted = {str(p.relative_to(ROOT)) for p in used if not only_a_docstring(p)}
        declared = {dep for dep in stage["deps"] if dep.startswith("src/") and dep.endswith(".py")}
        if wanted != declared:
            wrong[name] = {"add": sorted(wanted - declared), "remove": sorted(declared - wanted)}
    assert wrong == {}, "make these stages' deps in dvc.yaml the modules they import"


# The package's layers, bottom up: a module imports only from layers below its own (or
# its own folder). core/ is plumbing; then your code (features, metrics, the model); then
# the template's domain; then what runs: stages, the CI checks, operations, the command line.
LAYERS = [
    {"core"},
    {"features.py", "metrics.py", "modeling.py"},
    {"data"},
    {"evaluation", "model_card"},
    {"stages", "review", "ops", "__main__.py"},
]


def layer(path: Path) -> tuple[int, str]:
    unit = path.relative_to(ROOT / "src" / PACKAGE).parts[0]
    return next(i for i, units in enumerate(LAYERS) if unit in units), unit


def test_imports_point_down_the_layers_and_resolve():
    upward = []
    for module in sorted((ROOT / "src" / PACKAGE).rglob("*.py")):
        if module.parent == ROOT / "src" / PACKAGE and module.name == "__init__.py":
            continue
        (level, unit) = layer(module)
        for used in package_modules_used_by(module):  # fails on an import of nothing
            used_level, used_unit = layer(used)
            if used_unit != unit and used_level >= level:
                upward.append(f"{module.relative_to(ROOT)} -> {used.relative_to(ROOT)}")
    assert upward == []


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")))
def test_every_experiment_preset_composes_and_changes_something(preset):
    default = flatten(compose_params(config_dir=CONF))
    composed = compose_params([f"experiment={preset}"], config_dir=CONF)
    assert flatten(composed) != default
    assert estimator_class(composed["model"]["_target_"], MODEL_LIBRARIES)


@pytest.mark.parametrize("choice", sorted(p.stem for p in (CONF / "features").glob("*.yaml")))
def test_every_feature_set_composes(choice):
    features = compose_params([f"features={choice}"], config_dir=CONF)["features"]
    assert set(features) == {"derived", "numeric", "categorical"}


def test_the_command_line_lists_its_commands_and_refuses_unknown_ones():
    shown = subprocess.run(
        [sys.executable, "-m", PACKAGE, "--help"], capture_output=True, text=True
    )
    assert shown.returncode == 0
    assert all(f"  {name} " in shown.stdout for name in COMMANDS)
    unknown = subprocess.run(
        [sys.executable, "-m", PACKAGE, "trian"], capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "unknown command 'trian'" in unknown.stderr


def test_the_pandas_engine_imports_no_dask():
    """Dask is imported by the dask engine only, so it costs the default nothing."""
    modules = [f"{PACKAGE}.stages.{name}" for name in DVC_STAGES]
{%- if cookiecutter.operations == 'yes' %}
    modules.append(f"{PACKAGE}.ops.predict")
{%- endif %}
    code = (
        f"import sys, {', '.join(modules)}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed'}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
