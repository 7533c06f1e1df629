"""Check that a commit's results reproduce. Run after ``dvc repro``, as CI does.

Two checks against what HEAD committed:

1. ``dvc.lock``: every stage's command, dependency hashes and params, as just
   reproduced, must equal the committed ones. A difference means the commit changed
   an input (data, code or params) without rerunning the pipeline.
2. metrics: every metrics file that dvc.yaml declares must reproduce within
   ``review.tolerance``.

On a push with no dvc.lock committed yet (a brand-new repository) it warns instead
of failing; on a pull request a missing dvc.lock fails like a stale one.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import yaml

from ..core import actions
from ..core.commands import read_at, yaml_at
from ..core.config import flatten, load_params
from ..core.errors import PipelineError
from ..core.paths import PARAMS

LOCK = "dvc.lock"
FIX = (
    "Run `dvc repro` on your branch and commit what it changes (dvc.lock and reports/), "
    "then push again."
)


def stage_inputs(lock: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per stage, what determines its results: command, source hashes, params.

    Dependencies that another stage produces are left out: they follow from that
    stage's own inputs, and library versions may change their bytes (a Parquet file
    written by another pyarrow) without changing what they hold.
    """
    stages = (lock or {}).get("stages", {})
    produced = {out["path"] for stage in stages.values() for out in stage.get("outs", [])}
    inputs = {}
    for name, stage in stages.items():
        deps = {
            dep["path"]: dep.get("md5") or dep.get("hash")
            for dep in stage.get("deps", [])
            if dep["path"] not in produced
        }
        params = {
            f"{file}:{key}": value
            for file, values in (stage.get("params") or {}).items()
            for key, value in flatten(values).items()
        }
        inputs[name] = {"cmd": stage.get("cmd"), "deps": deps, "params": params}
    return inputs


def stale_stages(committed: dict[str, Any], reproduced: dict[str, Any]) -> list[str]:
    """One line per stage whose committed inputs differ from the reproduced ones."""
    before, after = stage_inputs(committed), stage_inputs(reproduced)
    problems = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            problems.append(f"stage {name!r} is not in the committed {LOCK}")
            continue
        if name not in after:
            problems.append(f"stage {name!r} is in the committed {LOCK} but not in dvc.yaml")
            continue
        changed = [
            f"{kind} {key}"
            for kind in ("deps", "params")
            for key in sorted(before[name][kind].keys() | after[name][kind].keys())
            if before[name][kind].get(key) != after[name][kind].get(key)
        ]
        if before[name]["cmd"] != after[name]["cmd"]:
            changed.insert(0, "cmd")
        if changed:
            problems.append(f"stage {name!r}: changed {', '.join(changed)}")
    return problems


def metric_drift(
    committed: dict[str, Any], reproduced: dict[str, Any], tolerance: float
) -> list[str]:
    """One line per metric whose reproduced value is not the committed one (± tolerance)."""
    drift = []
    for file in sorted(committed.keys() | reproduced.keys()):
        before, after = flatten(committed.get(file) or {}), flatten(reproduced.get(file) or {})
        for key in sorted(before.keys() | after.keys()):
            old, new = before.get(key), after.get(key)
            numbers = all(isinstance(v, (int, float)) for v in (old, new))
            if (numbers and abs(new - old) > tolerance) or (not numbers and old != new):
                drift.append(f"{file}: {key} committed {old}, reproduced {new}")
    return drift


def metrics_files() -> list[str]:
    declared = yaml.safe_load(Path("dvc.yaml").read_text(encoding="utf-8")).get("metrics")
    return list(declared or [])


def read_metrics(files: list[str], revision: str | None) -> dict[str, Any]:
    """Each metrics file as committed at ``revision``, or as in the working tree."""
    if revision is None:
        return {f: yaml.safe_load(Path(f).read_text()) for f in files if Path(f).is_file()}
    return {f: value for f in files if (value := yaml_at(revision, f)) is not None}


def verify(revision: str = "HEAD") -> list[str]:
    """Everything about the working tree that does not match ``revision``'s claims."""
    committed_lock = read_at(revision, LOCK)
    if committed_lock is None:
        return [f"no {LOCK} is committed at {revision}"]
    reproduced_lock = yaml.safe_load(Path(LOCK).read_text(encoding="utf-8"))
    problems = stale_stages(yaml.safe_load(committed_lock), reproduced_lock)
    tolerance = load_params().review.tolerance
    files = metrics_files()
    drift = metric_drift(read_metrics(files, revision), read_metrics(files, None), tolerance)
    return problems + drift


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    if not Path(LOCK).is_file():
        raise PipelineError(f"{LOCK} not found: run `dvc repro` before verifying")
    problems = verify()
    if problems == [f"no {LOCK} is committed at HEAD"] and (
        os.environ.get("GITHUB_EVENT_NAME") == "push"
    ):
        message = f"No {LOCK} is committed yet, so there is nothing to check against. {FIX}"
        actions.add_to_summary(f"> [!WARNING]\n> {message}")
        print(f"warning: {message}")
        return
    if problems:
        listing = "\n".join(f"  - {line}" for line in problems)
        actions.add_to_summary(
            "### Reproduction check failed\n\nThe committed results are not what the "
            f"pipeline produces:\n\n{listing}\n\n{FIX}"
        )
        raise PipelineError(
            "the results committed at HEAD are not what `dvc repro` makes of its data, code "
            f"and {PARAMS}:\n"
            f"{listing}\n{FIX}"
        )
    actions.add_to_summary(f"Reproduced: {LOCK} and every metrics file match the commit.")
    print(f"verify: {LOCK} and metrics match HEAD")
