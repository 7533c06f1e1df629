"""Print wall-clock timings of the template's main paths on this machine.

    .venv/bin/python benchmarks/bench.py [--repeats 3] [--task classification]

Measures: baking a project (cookiecutter and both hooks), a cold `dvc repro`, the same
six stages run directly with `python -m` (DVC's own overhead is the difference), and a
no-op `dvc repro`. Each figure is the median of --repeats runs, each on a fresh bake.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import bake, tool_env

STAGES = ["clean", "featurize", "split", "train", "evaluate", "profile"]


def timed(command: list[str], cwd: Path) -> float:
    env = tool_env(PYTHONPATH=str(cwd / "src"))
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def one_round(task: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        result = bake(Path(folder), task=task)
        bake_seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(result.stderr)
        (project,) = Path(folder).iterdir()
        package = next((project / "src").iterdir()).name
        dvc = [sys.executable, "-m", "dvc"]
        figures = {
            "bake (cookiecutter + hooks)": bake_seconds,
            "cold dvc repro (fresh project)": timed([*dvc, "repro"], project),
            "no-op dvc repro": timed([*dvc, "repro"], project),
        }
        for stage in STAGES:
            command = [sys.executable, "-m", f"{package}.stages.{stage}"]
            figures[f"  stage {stage}, run directly"] = timed(command, project)
        figures["stages run directly, sum"] = sum(
            value for name, value in figures.items() if name.startswith("  stage")
        )
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--task", choices=["classification", "regression"], default="classification"
    )
    args = parser.parse_args()
    rounds = [one_round(args.task) for _ in range(args.repeats)]
    print(f"{args.task}, median of {args.repeats} runs, seconds")
    for name in rounds[0]:
        values = [figures[name] for figures in rounds]
        spread = f"(min {min(values):.2f}, max {max(values):.2f})"
        print(f"{name:<34} {statistics.median(values):7.2f}   {spread}")


if __name__ == "__main__":
    main()
