"""Read params.yaml, the resolved snapshot of conf/ that DVC tracks.

Stages read this file rather than composing Hydra themselves: it is cheap, it is
exactly what DVC hashed, and it creates no Hydra ``outputs/`` directories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .paths import PARAMS

TASKS = ("classification", "regression")


def load_params(path: Path = PARAMS) -> dict[str, Any]:
    """Load params.yaml, refusing a missing or non-mapping file with its path."""
    if not path.is_file():
        raise ConfigError(
            f"{path} not found. Run `python -m {__package__}.compose` from the project root "
            "to compose it from conf/."
        )
    with path.open(encoding="utf-8") as handle:
        params = yaml.safe_load(handle)
    if not isinstance(params, dict):
        raise ConfigError(f"{path} must hold a mapping of keys, found {type(params).__name__}")
    return params


def get(params: dict[str, Any], dotted_key: str, source: Path = PARAMS) -> Any:
    """Return ``params[a][b]`` for ``"a.b"``, naming the missing key if it is absent."""
    value: Any = params
    walked: list[str] = []
    for part in dotted_key.split("."):
        walked.append(part)
        if not isinstance(value, dict) or part not in value:
            raise ConfigError(f"{source}: missing key '{'.'.join(walked)}'")
        value = value[part]
    return value


def get_task(params: dict[str, Any]) -> str:
    """The learning task, checked against the tasks the pipeline supports."""
    task = get(params, "task")
    if task not in TASKS:
        raise ConfigError(f"{PARAMS}: key 'task' is {task!r}; expected one of {', '.join(TASKS)}")
    return task


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``, so differences can be named by key."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def differing_keys(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    left, right = flatten(expected), flatten(actual)
    return sorted(key for key in left.keys() | right.keys() if left.get(key) != right.get(key))
