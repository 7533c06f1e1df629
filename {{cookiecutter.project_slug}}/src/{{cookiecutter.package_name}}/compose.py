"""Compose conf/ (the source of truth) into params.yaml (the snapshot DVC tracks).

    python -m <package>.compose                 # rewrite params.yaml from conf/
    python -m <package>.compose model=ridge     # ... with Hydra overrides
    python -m <package>.compose --check         # exit 1 if params.yaml is stale

``dvc exp run`` composes by itself (``hydra.enabled`` is set in .dvc/config); plain
``dvc repro`` does not, so run this after editing conf/. Uses Hydra's compose API,
which creates no ``outputs/`` directories.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import ConfigError, run_main
from .files import write_with
from .params import differing_keys, load_params
from .paths import PARAMS

CONFIG_DIR = Path("conf")
CONFIG_NAME = "config"


def compose_params(overrides: list[str] = (), config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    """The fully resolved configuration, as plain data."""
    if not (config_dir / f"{CONFIG_NAME}.yaml").is_file():
        raise ConfigError(f"{config_dir / CONFIG_NAME}.yaml not found: run from the project root")
    try:
        with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base=None):
            config = compose(config_name=CONFIG_NAME, overrides=list(overrides))
        return OmegaConf.to_container(config, resolve=True)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(f"{config_dir}/ does not compose: {error}") from None


def to_yaml(params: dict[str, Any]) -> str:
    header = (
        f"# Composed from conf/ by `python -m {__package__}.compose`: edit conf/, not this file.\n"
    )
    return header + yaml.safe_dump(params, sort_keys=False, allow_unicode=True, width=100)


def check(params_path: Path = PARAMS, config_dir: Path = CONFIG_DIR) -> list[str]:
    """Keys where params.yaml disagrees with the composition of conf/."""
    return differing_keys(compose_params(config_dir=config_dir), load_params(params_path))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="compose", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if params.yaml is stale")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=ridge")
    args = parser.parse_args(argv)
    if args.check:
        differences = check()
        if differences:
            raise ConfigError(
                f"{PARAMS} disagrees with conf/ at: {', '.join(differences)}. Run "
                f"`python -m {__package__}.compose` to regenerate it, or, to keep a promoted "
                "experiment, carry its overrides into conf/ first."
            )
        print(f"{PARAMS} agrees with conf/")
        return
    text = to_yaml(compose_params(args.overrides))
    write_with(PARAMS, lambda path: path.write_text(text, encoding="utf-8"))
    overrides = f" with {' '.join(args.overrides)}" if args.overrides else ""
    print(f"wrote {PARAMS} from conf/{overrides}")


if __name__ == "__main__":
    run_main(lambda: main(sys.argv[1:]))
