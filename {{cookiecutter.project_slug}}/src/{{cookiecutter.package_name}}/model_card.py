"""What a model is and where it came from: metadata beside the model, a readable card.

``evaluate`` writes both on every run, so neither can go stale:
``models/metadata.json`` (commit, model and parameters, training-data hash, metrics,
library versions) travels with the model file; the card, ``reports/model_card.md``,
is for people deciding whether to use the model.
"""

from __future__ import annotations

from importlib import metadata as installed
from pathlib import Path
from typing import Any

from .core.config import Model
from .core.files import file_md5
from .core.markdown import number, table
from .core.revisions import git

PROJECT_NAME = "{{ cookiecutter.project_name }}"
LIBRARIES = ["scikit-learn", "pandas", "numpy", "skops", "dvc", "hydra-core"]


def current_commit() -> dict[str, Any]:
    """HEAD, and whether the working tree differs from it (then the card says so)."""
    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return {"commit": None, "uncommitted_changes": None}
    changes = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return {"commit": head.stdout.strip(), "uncommitted_changes": bool(changes)}


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = installed.version(name)
        except installed.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def model_metadata(
    model_path: Path, model: Model, raw_path: Path, metrics: dict[str, Any]
) -> dict[str, Any]:
    return {
        "model": {
            "file": str(model_path),
            "md5": file_md5(model_path),
            "class": model.target,
            "parameters": model.arguments,
        },
        "training_data": {"file": str(raw_path), "md5": file_md5(raw_path)},
        "git": current_commit(),
        "test_metrics": metrics,
        "libraries": library_versions(),
    }


def fairness_findings(slices: dict[str, Any], largest_gap: float) -> list[str]:
    """One line per slice metric whose groups differ by more than ``largest_gap``."""
    return [
        f"- `{column}`: {metric} differs by {number(gap)} between groups"
        for column, result in slices.items()
        for metric, gap in result["largest_gap"].items()
        if gap > largest_gap
    ]


def render_card(
    task: str,
    target: str,
    metadata: dict[str, Any],
    row_counts: tuple[int, int],
    slices: dict[str, Any],
    importance: list[dict[str, Any]],
    largest_gap: float,
) -> str:
    """The model card as Markdown."""
    model, data, commit = metadata["model"], metadata["training_data"], metadata["git"]
    metrics = metadata["test_metrics"]
    trained_from = commit["commit"] or "not a git repository"
    if commit["uncommitted_changes"]:
        trained_from += " (with uncommitted changes)"
    parameters = ", ".join(f"`{k}={v}`" for k, v in model["parameters"].items())
    slice_rows = [
        [
            f"`{column}`",
            group,
            scores["rows"],
            ", ".join(f"{k} {number(v)}" for k, v in scores.items() if k != "rows"),
        ]
        for column, result in slices.items()
        for group, scores in result["groups"].items()
    ]
    findings = fairness_findings(slices, largest_gap)
    fairness = (
        [f"Gaps between slice groups above {largest_gap}:", "", *findings]
        if findings
        else [f"No metric differs by more than {largest_gap} between the groups of any slice."]
    )
    return "\n".join(
        [
            f"# Model card: {PROJECT_NAME}",
            "",
            "Written by the `evaluate` stage on every `dvc repro`; do not edit by hand.",
            "",
            "## Intended use",
            "",
            f"Predicts `{target}` ({task}) from the inputs listed in `conf/features/`, for rows",
            "shaped like the training data (the schema in `conf/data/`). Inputs outside that",
            "schema are refused; check that new data resembles the training data before",
            "trusting predictions on it.",
            "",
            "## Model",
            "",
            f"- `{model['class']}`: {parameters or 'default parameters'}",
            f"- file `{model['file']}`, MD5 `{model['md5']}` (the version predictions carry)",
            f"- trained from commit `{trained_from}`",
            "",
            "## Training data",
            "",
            f"- source `{data['file']}`, MD5 `{data['md5']}` (as in its `.dvc` file)",
            f"- {row_counts[0]} rows after cleaning; {row_counts[1]} in the training split",
            "",
            f"## Test metrics ({metrics.get('test_rows', '?')} rows in the test split)",
            "",
            table(
                ["metric", "value"],
                [[k, number(v)] for k, v in metrics.items() if k != "test_rows"],
            ),
            "",
            "## Metrics per slice",
            "",
            table(["column", "group", "rows", "metrics"], slice_rows),
            "",
            "## Permutation importance (test split)",
            "",
            table(
                ["feature", "mean drop in score", "std"],
                [
                    [f"`{r['feature']}`", number(r["importance"]), number(r["std"])]
                    for r in importance
                ],
            ),
            "",
            "## Fairness check",
            "",
            *fairness,
            "",
            "## Known limitations",
            "",
            "- Trained and tested on one dataset; its test split is small, so metrics carry",
            "  sampling noise (see the slice sizes above).",
            "- Slices with few rows give unstable per-group metrics; a gap there may be noise.",
            "- Permutation importance measures this model's reliance on a feature, not a causal",
            "  effect, and shares credit between correlated features.",
            "",
        ]
    )
