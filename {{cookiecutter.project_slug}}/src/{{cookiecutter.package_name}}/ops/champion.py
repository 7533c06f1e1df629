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

``--release`` is how the pipeline workflow's release job runs it after a push to main:
it promotes a winner as ``--promote`` does, but a commit whose model is already in
prod, or a challenger that loses, is reported and ends well: the push is not at fault,
and production is unchanged.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ..core import actions, paths
from ..core.commands import git
from ..core.config import Limit, load_params
from ..core.errors import PipelineError
from ..core.estimators import model_inputs
from ..core.files import read_json, read_parquet
from ..evaluation.gate import Verdict, check_limits
from ..evaluation.scoring import metric, score
from ..modeling import load_model
from .release import (
    ARTIFACT,
    STAGE,
    Release,
    fetch_model_file,
    gto,
    gto_show,
    model_md5_at,
    release_at,
)

FIRST_VERSION = "v1.0.0"


def latest_version() -> str | None:
    """The highest registered version, or None before the first registration."""
    return gto_show(f"{ARTIFACT}@greatest", "--version")


def decide(
    champion: dict[str, float] | None,
    challenger: dict[str, float],
    primary: str,
    limits: dict[str, Limit],
    beats_baseline: bool | None = None,
) -> tuple[bool, str, list[Verdict]]:
    """Whether the challenger wins, why, and the gate's verdicts against the champion.
    ``beats_baseline``: evaluate's decision on the challenger (False: it does not)."""
    higher_is_better = metric(primary, "review.primary_metric").higher_is_better
    if primary not in challenger:
        raise PipelineError(f"params.yaml: review.primary_metric {primary!r} is not a test metric")
    if beats_baseline is False:
        return False, f"it does not beat the baseline on {primary} ({paths.DECISION})", []
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


def production() -> Release | None:
    """The release in the prod stage, or None before the first promotion."""
    name = f"{ARTIFACT}#{STAGE}"
    tag = gto_show(name, "--ref")
    return None if tag is None else release_at(name, tag, STAGE, None)


def report(message: str) -> None:
    print(message)
    actions.add_to_summary(message)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promote", action="store_true", help="make a winning challenger prod")
    parser.add_argument(
        "--release",
        action="store_true",
        help="--promote, for the release job: a model already in prod, or one that loses, is "
        "reported and exits 0",
    )
    args = parser.parse_args(argv)
    params = load_params()
    prod = production()
    if args.release and prod and model_md5_at(prod.tag) == model_md5_at("HEAD"):
        report(f"{ARTIFACT} {prod.version} in {STAGE} is this commit's model: nothing to release")
        return
    target = params.data.target
    test = read_parquet(paths.TEST)
    inputs = model_inputs(test.drop(columns=target))  # each model picks the inputs it knows
    challenger = score(load_model(paths.MODEL, params), inputs, test[target])
    champion = None
    if prod:
        with tempfile.TemporaryDirectory() as folder:
            model = load_model(fetch_model_file(prod, Path(folder)), prod.params, prod.source)
            champion = score(model, inputs, test[target])
    beats = read_json(paths.DECISION)["beats_baseline"] if params.review.beat_baseline else None
    wins, reason, _ = decide(
        champion, challenger, params.review.primary_metric, params.review.limits, beats
    )
    held = f"{prod.version}, {prod.tag}" if prod else "none"
    report(
        f"champion ({held}): {champion}\nchallenger: {challenger}\n"
        f"challenger {'wins' if wins else 'refused'}: {reason}"
    )
    if not wins and args.release:
        report(f"{STAGE} is unchanged: {ARTIFACT} {prod.version} stays")
        return
    if not wins:
        raise PipelineError(f"the challenger is not promoted: {reason}")
    if args.promote or args.release:
        version = promote()
        actions.set_output("version", version)
        report(f"promoted: {ARTIFACT} {version} is now in {STAGE}")
