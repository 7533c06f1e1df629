"""Champion/challenger: replace the production model only with one that beats it.

The champion is the model version GTO's ``prod`` stage points to (git tags such as
``model@v0.2.0`` and ``model#prod#3``), fetched with ``dvc get`` at its tag; the
challenger is models/model.skops as ``dvc repro`` just trained it, typically on a new
version of the raw data. Both are scored on the same holdout, the current test split.
The challenger wins when it scores at least as well on ``review.primary_metric`` and
breaks none of ``review.limits`` against the champion. ``--promote`` then
registers the commit as the next minor version and assigns it to ``prod``; older
versions keep their tags, so a rollback is one command:
``gto assign model --version <old-version> --stage prod --force``
(``--force`` because that version was in the stage before).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..core import paths
from ..core.config import Limit, Model, load_params, parse
from ..core.errors import PipelineError
from ..core.files import read_parquet
from ..evaluation import metric, score
from ..modeling import load_model, model_inputs
from ..review import actions
from ..review.gate import Verdict, check_limits
from ..review.revisions import dvc, git, run, yaml_at

ARTIFACT = "model"  # the name under `artifacts:` in dvc.yaml
STAGE = "prod"
FIRST_VERSION = "v1.0.0"


def gto_command() -> str:
    """GTO's command from this interpreter's environment (it has no `python -m` form)."""
    beside = Path(sys.executable).with_name("gto")
    return str(beside) if beside.is_file() else shutil.which("gto") or "gto"


def gto(*args: str) -> str:
    return run(gto_command(), *args).stdout.strip()


def gto_show(name: str, *args: str) -> str | None:
    """What ``gto show`` says of ``name``, or None where GTO knows nothing of it yet."""
    command = [gto_command(), "show", name, *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def latest_version() -> str | None:
    """The highest registered version, or None before the first registration."""
    return gto_show(f"{ARTIFACT}@greatest", "--version")


def production_tag() -> str | None:
    """The git tag of the version in the prod stage, or None before the first promotion."""
    return gto_show(f"{ARTIFACT}#{STAGE}", "--ref")


def fetch_model(tag: str, folder: Path) -> Any:
    """The model file as committed at ``tag``, from the DVC cache or remote, trusted as
    the params.yaml it was trained with says (its estimator may be another library's)."""
    target = folder / "champion.skops"
    dvc("get", ".", str(paths.MODEL), "--rev", tag, "-o", str(target))
    trained_with = parse(Model, (yaml_at(tag, str(paths.PARAMS)) or {}).get("model"), tag, "model")
    return load_model(target, trained_with)


def decide(
    champion: dict[str, float] | None,
    challenger: dict[str, float],
    primary: str,
    limits: dict[str, Limit],
) -> tuple[bool, str, list[Verdict]]:
    """Whether the challenger wins, why, and the gate's verdicts against the champion."""
    higher_is_better = metric(primary, "review.primary_metric").higher_is_better
    if primary not in challenger:
        raise PipelineError(f"params.yaml: review.primary_metric {primary!r} is not a test metric")
    if champion is None:
        return True, f"no model is in the {STAGE} stage yet", []
    verdicts = check_limits(champion, challenger, limits, "params.yaml")
    broken = [f"{v.metric} {v.rule}" for v in verdicts if not v.passed]
    new, old = challenger[primary], champion[primary]
    if (new < old) if higher_is_better else (new > old):
        return False, f"{primary} {new} is worse than the champion's {old}", verdicts
    if broken:
        return False, "breaks the limits: " + "; ".join(broken), verdicts
    return True, f"{primary} {new} is at least as good as the champion's {old}", verdicts


def promote() -> str:
    """Register HEAD as the next minor version and assign it to prod; return the version."""
    if git("status", "--porcelain", "--untracked-files=no").stdout.strip():
        raise PipelineError("commit the retrained model (dvc.lock, reports/) before promoting it")
    first = latest_version() is None
    gto(
        "register", ARTIFACT, "HEAD", *(["--version", FIRST_VERSION] if first else ["--bump-minor"])
    )
    version = latest_version()
    gto("assign", ARTIFACT, "--version", version, "--stage", STAGE)
    return version


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promote", action="store_true", help="make a winning challenger prod")
    args = parser.parse_args(argv)
    params = load_params()
    target = params.data.target
    test = read_parquet(paths.TEST)
    inputs = model_inputs(test.drop(columns=target))  # each model picks the inputs it knows
    challenger = score(load_model(paths.MODEL, params.model), inputs, test[target])
    tag = production_tag()
    champion = None
    if tag:
        with tempfile.TemporaryDirectory() as folder:
            champion = score(fetch_model(tag, Path(folder)), inputs, test[target])
    wins, reason, _ = decide(
        champion, challenger, params.review.primary_metric, params.review.limits
    )
    summary = f"champion ({tag or 'none'}): {champion}\nchallenger: {challenger}\n"
    actions.add_to_summary(
        f"```\n{summary}```\nChallenger {'wins' if wins else 'refused'}: {reason}"
    )
    print(summary + f"challenger {'wins' if wins else 'refused'}: {reason}")
    if not wins:
        raise PipelineError(f"the challenger is not promoted: {reason}")
    if args.promote:
        print(f"promoted: {ARTIFACT} {promote()} is now in {STAGE}")
