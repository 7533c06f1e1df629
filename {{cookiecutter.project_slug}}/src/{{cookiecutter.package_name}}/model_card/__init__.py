"""What a model is and where it came from: metadata beside the model, a readable card.

``evaluate`` writes both on every run, so neither can go stale: ``models/metadata.json``
travels with the model file; ``reports/model_card.md``, filled in from ``template.md``
in this folder, is for people deciding whether to use the model. The report stage
draws the same facts, with charts, into ``reports/report.html`` (report_page.py).
"""

from __future__ import annotations

from importlib import metadata as installed
from pathlib import Path
from string import Template
from typing import Any

from ..core.commands import git
from ..core.config import Model
from ..core.files import file_md5
from ..core.markdown import code, number, table

TEMPLATE = Path(__file__).with_name("template.md")
LIBRARIES = ["scikit-learn", "pandas", "numpy", "skops", "dvc", "hydra-core"]


# What a model is trained from. Results (dvc.lock, reports/) are left out: a clean
# `dvc repro` rewrites them, and they do not change what was trained.
SOURCES = ["src", "conf", "params.yaml", "dvc.yaml", "pyproject.toml"]


def current_commit() -> dict[str, Any]:
    """The last commit that changed the code or config, and whether they changed since.

    Not HEAD: committing this card and dvc.lock moves HEAD, and the next clean
    ``dvc repro`` would then write a different card for the same model.
    """
    head = git("log", "-1", "--format=%H", "--", *SOURCES)
    if head.returncode != 0 or not head.stdout.strip():
        return {"commit": None, "uncommitted_changes": None}
    changes = git("status", "--porcelain", "--untracked-files=no", "--", *SOURCES).stdout.strip()
    return {"commit": head.stdout.strip(), "uncommitted_changes": bool(changes)}


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = installed.version(name)
        except installed.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def model_metadata(model_path: Path, model: Model, raw_path: Path, metrics: dict) -> dict:
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


def gap_shown(gap: dict[str, Any]) -> str:
    return number(gap["gap"]) if gap["share"] is None else f"{gap['share']:.0%} of its test value"


def fairness(decision: dict[str, Any]) -> str:
    """The slice metrics whose groups differ by more than the limit, or that none do."""
    if not decision["slices_compared"]:
        return (
            "No slice is set (`evaluate.slice_columns` in conf/evaluate/), so no group of "
            "rows was compared with another."
        )
    limit, shares = decision["fairness_gap"], ", ".join(decision["gaps_as_share"])
    rule = f"{limit} ({limit:.0%} of the test value for {shares})"
    if not decision["flagged_gaps"]:
        return f"No metric differs by more than {rule} between the groups of any slice."
    findings = [
        f"- {code(gap['column'])}: {gap['metric']} differs by {gap_shown(gap)} between groups"
        for gap in decision["flagged_gaps"]
    ]
    return "\n".join([f"Gaps between slice groups above {rule}:", "", *findings])


def against_baseline(decision: dict[str, Any]) -> str:
    """Whether the model beats the baseline on the primary metric, said plainly."""
    primary, baseline = decision["primary_metric"], decision["baseline"]
    compared = decision["against_baseline"].get(primary)
    if compared is None:
        return f"The {baseline} was not measured on {primary}."
    model, base = number(compared["model"]), number(compared["baseline"])
    if compared["beats"]:
        return f"The model beats the {baseline} on {primary} ({model} against {base})."
    return (
        f"**The model does not beat the {baseline}** on {primary} ({model} against "
        f"{base}): predicting without looking at the inputs does as well. Do not use it."
    )


def limitations(decision: dict[str, Any]) -> str:
    """What this evaluation cannot tell, as the decision records it."""
    found, known, rows = [], decision["limitations"], decision["test_rows"]
    if known["small_test_split"]:
        found.append(
            f"- {rows} test rows: one row is {1 / max(rows, 1):.1%} of them, so "
            "small differences between models are noise."
        )
    few = known["classes_with_few_test_rows"]
    if few["classes"]:
        named = ", ".join(f"{code(c['class'])} ({c['rows']})" for c in few["classes"])
        found.append(
            f"- Classes with fewer than {few['under']} test rows: {named}. Their precision "
            "and recall, and every macro average, rest on those rows alone."
        )
    small = known["small_slice_groups"]
    if small["groups"]:
        named = ", ".join(
            f"{code(g['column'])}={code(g['group'])} ({g['rows']})" for g in small["groups"]
        )
        found.append(
            f"- Slice groups under {small['under']} test rows give unstable metrics: "
            f"{named}; a gap there may be noise."
        )
    found.append(
        "- Permutation importance measures this model's reliance on a feature, not a "
        "causal effect, and shares credit between correlated features."
    )
    return "\n".join(found)


def per_class(rows: list[list[Any]]) -> str:
    """The per-class table, or nothing for a regression model."""
    if not rows:
        return ""
    return "\nPer class:\n\n" + table(["class", "test rows", "precision", "recall"], rows)


def fitted_on(train_rows: int, budget: int | None) -> str:
    """What the model was fitted on: the whole training split, or a sample of it."""
    if budget is None or train_rows <= budget:
        return "the model was fitted on all of them"
    return f"the model was fitted on a seeded sample of {budget} (`compute.max_train_rows`)"


def render_card(metadata: dict, card: dict[str, Any], decision: dict[str, Any]) -> str:
    """The model card: ``metadata``, evaluate's results and its decision, worded."""
    model, data, commit = metadata["model"], metadata["training_data"], metadata["git"]
    metrics = metadata["test_metrics"]
    trained_from = commit["commit"] or "not a git repository"
    if commit["uncommitted_changes"]:
        trained_from += " (with uncommitted changes)"
    slice_rows = [
        [
            code(column),
            code(group),
            scores["rows"],
            ", ".join(f"{k} {number(v)}" for k, v in scores.items() if k != "rows"),
        ]
        for column, result in card["slices"].items()
        for group, scores in result["groups"].items()
    ]
    baseline = metrics.get("baseline", {})
    metric_rows = [
        [name, number(value), number(baseline.get(name))]
        for name, value in metrics.items()
        if name in decision["higher_is_better"]
    ]
    class_rows = [[code(c["class"]), c["rows"], number(c["precision"]), number(c["recall"])]
                  for c in card.get("classes", [])]  # fmt: skip
    importance_rows = [
        [code(r["feature"]), number(r["importance"]), number(r["std"])] for r in card["importance"]
    ]
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        project="{{ cookiecutter.project_name }}",
        package=__package__.split(".")[0],
        target=code(card["target"]),
        task=card["task"],
        model_class=code(model["class"]),
        parameters=", ".join(code(f"{k}={v}") for k, v in model["parameters"].items())
        or "defaults",
        model_file=code(model["file"]),
        model_md5=model["md5"],
        commit=code(trained_from),
        data_file=code(data["file"]),
        data_md5=data["md5"],
        rows_after_cleaning=card["rows_after_cleaning"],
        train_rows=card["train_rows"],
        fitted_on=fitted_on(card["train_rows"], card["max_train_rows"]),
        test_rows=metrics.get("test_rows", "?"),
        metrics=table(["metric", "model", decision["baseline"]], metric_rows),
        verdict=against_baseline(decision),
        classes=per_class(class_rows),
        limitations=limitations(decision),
        slices=table(["column", "group", "rows", "metrics"], slice_rows),
        importance=table(["feature", "mean drop in score", "std"], importance_rows),
        fairness=fairness(decision),
    )
