"""Exported tables benchmark: what a generated project makes of a table exported as
people export them, with no hand edit.

    .venv/bin/python benchmarks/exports.py [--rows 4000] [--draws 20] [--keep DIR]

For each task (a project baked without demo data) and each export of the loan table in
the project's own ``tests/exported_tables.py`` (pandas' ``to_csv()`` with its index, R's
``write.csv`` with quoted headers and NA), it runs ``draft-schema`` and ``dvc repro``,
then prints, as Markdown: what the draft decided per column, the test metrics beside the
baseline's, whether 40 raw rows posted to the API get the same predictions as
``predict``, and how many of ``--draws`` same-distribution batches of 300 rows
``monitor`` flags (each a false alarm).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import bake, tool_env

PACKAGE = "penguins_ml"
RAW = "data/raw/loans.csv"
# Run inside the project: raw rows to the API and to predict, then monitor draws.
CHECK = """
import csv, json, subprocess, sys
from pathlib import Path
import pandas as pd
from fastapi.testclient import TestClient
from penguins_ml.ops.monitor import monitor
from penguins_ml.ops.serve import create_app

raw, draws = Path(sys.argv[1]), int(sys.argv[2])
with raw.open(newline="") as handle:
    records = [row for _, row in zip(range(40), csv.DictReader(handle))]
served = TestClient(create_app()).post("/predict", json=records).json()["predictions"]
Path("batch.csv").write_text("".join(raw.read_text().splitlines(keepends=True)[:41]))
subprocess.run([sys.executable, "-m", "penguins_ml", "predict", "--input", "batch.csv",
                "--output", "batch.parquet"], check=True, capture_output=True)
batch = pd.read_parquet("batch.parquet")["prediction"].tolist()
table = pd.read_csv(raw, dtype=str, keep_default_na=False)
alarms = []
for seed in range(draws):
    table.sample(300, random_state=seed).to_csv("draw.csv", index=False)
    report, _ = monitor(Path("draw.csv"), Path("monitoring"))
    if report["status"] != "ok":
        alarms.append({c: r["drift"] for c, r in report["columns"].items() if r["drift"]})
print(json.dumps({"same": [p["prediction"] for p in served] == batch, "alarms": alarms}))
"""


def python(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = tool_env(PYTHONPATH=f"{project / 'src'}:{project / 'tests'}", DVC_NO_ANALYTICS="1")
    done = subprocess.run(
        [sys.executable, *args], cwd=project, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed in {project}:\n{done.stdout}{done.stderr}")
    return done


def decisions(project: Path) -> list[str]:
    """One Markdown row per raw column: what draft-schema made of it."""
    data = yaml.safe_load((project / "conf/data/loans.yaml").read_text())
    features_text = (project / "conf/features/default.yaml").read_text()
    features = yaml.safe_load(features_text)
    split_key = yaml.safe_load((project / "conf/split/default.yaml").read_text())["key"]
    reasons = dict(
        line[2:].split(": ", 1)
        for line in features_text.splitlines()
        if line.startswith("# ") and ": " in line
    )
    rows = [
        f"| `{header!r}` | not read (`unread_columns`) | |" for header in data["unread_columns"]
    ]
    for name, column in data["columns"].items():
        kind = column["type"] + (" required" if column.get("required") else "")
        if column.get("allowed"):
            kind += f", {len(column['allowed'])} allowed"
        role = next(
            (f"{group} input" for group in ("numeric", "categorical") if name in features[group]),
            reasons.get(name, "?"),
        )
        role += " (split.key)" if name == split_key else ""
        rows.append(f"| `{column['source']}` -> `{name}` | {kind} | {role} |")
    return ["| raw column | drafted as | role |", "| --- | --- | --- |", *rows]


def run_one(template_project: Path, task: str, export: str, rows: int, draws: int) -> str:
    project = template_project.parent / f"{task}-{export}"
    shutil.copytree(template_project, project)
    build = f"{export}_export(loan_table({rows}), Path('{RAW}'))"
    python(project, "-c", f"from pathlib import Path; from exported_tables import *; {build}")
    target = "Defaulted" if task == "classification" else "Interest Rate"
    drafted = python(project, "-m", PACKAGE, "draft-schema", RAW, "--target", target)
    python(project, "-m", "dvc", "repro", "--quiet")
    metrics = json.loads((project / "reports/metrics.json").read_text())
    primary = yaml.safe_load((project / "params.yaml").read_text())["review"]["primary_metric"]
    card = (project / "reports/model_card.md").read_text()
    verdict = next(line for line in card.splitlines() if "baseline on" in line)
    checked = json.loads(python(project, "-c", CHECK, RAW, str(draws)).stdout)
    alarms = f": {json.dumps(checked['alarms'])}" if checked["alarms"] else ""
    metric_rows = [
        f"| {name} | {value} | {metrics['baseline'].get(name, '-')} |"
        for name, value in metrics.items()
        if name not in ("baseline", "test_rows")
    ]
    return "\n".join(
        [
            f"## {task}, {export} export ({rows} rows)",
            "",
            f"`draft-schema`: {drafted.stdout.splitlines()[0].removeprefix('draft-schema: ')}",
            "",
            *decisions(project),
            "",
            f"Test metrics ({metrics['test_rows']} rows; primary: {primary}):",
            "",
            "| metric | model | baseline |",
            "| --- | --- | --- |",
            *metric_rows,
            "",
            f"Card: {verdict}",
            "",
            f"API and `predict` agree on 40 raw rows: {'yes' if checked['same'] else 'NO'}.",
            f"Monitor: {len(checked['alarms'])} false alarms in {draws} same-distribution "
            f"batches of 300 rows{alarms}.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="bake here and keep the projects")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="exports-"))
    for task in ("classification", "regression"):
        output = folder / task
        output.mkdir(parents=True, exist_ok=True)
        result = bake(output, task=task, demo_data="none")
        if result.returncode != 0:
            raise SystemExit(result.stderr)
        for export in ("pandas", "r"):
            print(run_one(output / "penguins-ml", task, export, args.rows, args.draws), flush=True)
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
