"""conf/, params.yaml and dvc.yaml agree with each other and with the code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }} import paths
from {{ cookiecutter.package_name }}.compose import check, compose_params, main
from {{ cookiecutter.package_name }}.errors import ConfigError
from {{ cookiecutter.package_name }}.params import (
    flatten,
    get,
    get_task,
    load_params,
)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
PACKAGE = paths.__name__.rpartition(".")[0]


def test_params_yaml_is_the_composition_of_conf():
    assert check(ROOT / "params.yaml", CONF) == [], f"run `python -m {PACKAGE}.compose`"


def test_check_names_the_keys_that_drifted(tmp_path):
    params = load_params(ROOT / "params.yaml")
    params["split"]["test_size"] = 0.5
    params["extra"] = 1
    drifted = tmp_path / "params.yaml"
    drifted.write_text(yaml.safe_dump(params), encoding="utf-8")
    assert check(drifted, CONF) == ["extra", "split.test_size"]


@pytest.mark.parametrize("choice", sorted(p.stem for p in (CONF / "model").glob("*.yaml")))
def test_every_model_choice_composes_to_a_target(choice):
    model = compose_params([f"model={choice}"], config_dir=CONF)["model"]
    assert model["_target_"].startswith("sklearn.")


def test_unknown_group_choice_is_a_config_error():
    with pytest.raises(ConfigError, match="does not compose"):
        compose_params(["model=no_such_model"], config_dir=CONF)


def test_compose_command_writes_overrides_and_check_catches_them(project_copy):
    main(["model=random_forest"])
    assert "RandomForest" in load_params()["model"]["_target_"]
    with pytest.raises(ConfigError, match=r"model\._target_"):
        main(["--check"])
    main([])
    main(["--check"])


def test_dvc_yaml_outputs_are_the_paths_the_code_writes():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    declared = {
        next(iter(out)) if isinstance(out, dict) else out
        for stage in stages.values()
        for out in stage.get("outs", [])
    }
    written = {
        str(value) for name, value in vars(paths).items() if name.isupper() and name != "PARAMS"
    }
    assert declared == written


def test_each_stage_command_runs_its_own_module():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for name, stage in stages.items():
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
            candidates = [base.with_suffix(".py"), *(base / f"{a.name}.py" for a in node.names)]
            pending += [c for c in candidates if c.is_file() and c.name != "__init__.py"]
    return seen


def test_each_stage_declares_every_module_it_runs_as_a_dependency():
    """A change to any code a stage runs must rerun that stage."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    undeclared = {}
    for name, stage in stages.items():
        used = package_modules_used_by(ROOT / f"src/{PACKAGE}/stages/{name}.py")
        missing = {str(path.relative_to(ROOT)) for path in used} - set(stage["deps"])
        if missing:
            undeclared[name] = sorted(missing)
    assert undeclared == {}, "add these to the stages' deps in dvc.yaml"


def test_missing_keys_are_named():
    with pytest.raises(ConfigError, match=r"missing key 'data\.nope'"):
        get({"data": {}}, "data.nope")
    with pytest.raises(ConfigError, match="key 'task' is 'ranking'"):
        get_task({"task": "ranking"})


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")))
def test_every_experiment_preset_composes_and_changes_something(preset):
    default = flatten(compose_params(config_dir=CONF))
    composed = compose_params([f"experiment={preset}"], config_dir=CONF)
    assert flatten(composed) != default
    assert composed["model"]["_target_"].startswith("sklearn.")


@pytest.mark.parametrize("choice", sorted(p.stem for p in (CONF / "features").glob("*.yaml")))
def test_every_feature_set_composes(choice):
    features = compose_params([f"features={choice}"], config_dir=CONF)["features"]
    assert set(features) == {"derived", "numeric", "categorical"}
