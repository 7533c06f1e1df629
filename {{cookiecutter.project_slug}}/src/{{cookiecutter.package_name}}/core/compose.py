"""Compose conf/ (the source of truth) into params.yaml (the snapshot DVC tracks).

``dvc exp run`` composes by itself (``hydra.enabled`` is set in .dvc/config); plain
``dvc repro`` does not, so run ``compose`` after editing conf/. Uses Hydra's compose API,
which creates no ``outputs/`` directories. The result is validated before it is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from .config import Params, differing_keys, parse, read_params
from .errors import ConfigError
from .files import write_text
from .paths import CONF, PARAMS
from .yaml_files import read_yaml, yaml_error

CONFIG_NAME = "config"
COMMAND = f"python -m {__package__.split('.')[0]} compose"


def compose_params(overrides: list[str] = (), config_dir: Path = CONF) -> dict[str, Any]:
    """The fully resolved configuration, as plain data."""
    from hydra import compose, initialize_config_dir  # only this command pays for Hydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not (config_dir / f"{CONFIG_NAME}.yaml").is_file():
        raise ConfigError(f"{config_dir / CONFIG_NAME}.yaml not found: run from the project root")
    for path in sorted(config_dir.rglob("*.yaml")):  # bounded reads before Hydra walks them
        read_yaml(path)
    try:
        with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base=None):
            config = compose(config_name=CONFIG_NAME, overrides=list(overrides))
        return OmegaConf.to_container(config, resolve=True)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(f"{config_dir}/ does not compose: {error}") from None
    except yaml.YAMLError as error:  # a syntax error in one of conf/'s files
        mark = getattr(error, "problem_mark", None)
        raise yaml_error(error, mark.name if mark else config_dir) from None


def to_yaml(params: dict[str, Any]) -> str:
    header = f"# Composed from conf/ by `{COMMAND}`: edit conf/, not this file.\n"
    return header + yaml.safe_dump(params, sort_keys=False, allow_unicode=True, width=100)


def check(params_path: Path = PARAMS, config_dir: Path = CONF) -> list[str]:
    """Keys where params.yaml disagrees with the composition of conf/."""
    return differing_keys(compose_params(config_dir=config_dir), read_params(params_path))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if params.yaml is stale")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=ridge")
    args = parser.parse_args(argv)
    if args.check:
        differences = check()
        if differences:
            raise ConfigError(
                f"{PARAMS} disagrees with conf/ at: {', '.join(differences)}. Run `{COMMAND}` "
                "to regenerate it, or, to keep a promoted experiment, carry its overrides "
                "into conf/ first."
            )
        print(f"{PARAMS} agrees with conf/")
        return
    params = compose_params(args.overrides)
    overrides = f" with {' '.join(args.overrides)}" if args.overrides else ""
    parse(Params, params, f"conf/ composed{overrides}")  # nothing invalid is written
    write_text(to_yaml(params), PARAMS)
    print(f"wrote {PARAMS} from conf/{overrides}")
