"""Print timings of DVC experiments on this machine.

    .venv/bin/python benchmarks/sweep.py

The generated README's sweep (six experiments: each model, then four forest sizes)
queued and run with one worker, with two, and with two given one OpenMP thread each as
the README says, each on a freshly baked and reproduced project; and one model
parameter change run as `dvc exp run -S` against the same change made in params.yaml
and run with `dvc repro` (both rerun train, evaluate and profile only).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench import timed
from tests.conftest import bake, tool_env

DVC = [sys.executable, "-m", "dvc"]
SWEEPS = [  # as the generated README queues them
    ["-S", "model=logistic_regression,random_forest,hist_gradient_boosting"],
    ["-S", "model=random_forest", "-S", "model.n_estimators=range(100,400,100)"],
]


def reproduced_project(folder: Path) -> Path:
    """A baked classification project with its pipeline run and committed."""
    if bake(folder).returncode != 0:
        raise SystemExit("baking failed")
    (project,) = folder.iterdir()
    env = tool_env(PYTHONPATH=str(project / "src"))
    for command in ([*DVC, "repro"], ["git", "add", "--all"], ["git", "commit", "-qm", "repro"]):
        subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    return project


def sweep_seconds(workers: int, omp_threads: str | None = None) -> float:
    """The queued sweep's wall time; ``omp_threads`` is the workers' OMP_NUM_THREADS."""
    with tempfile.TemporaryDirectory() as folder:
        project = reproduced_project(Path(folder))
        env = tool_env(PYTHONPATH=str(project / "src"))
        env.pop("OMP_NUM_THREADS", None)
        for sweep in SWEEPS:
            queue = [*DVC, "exp", "run", "--queue", *sweep]
            subprocess.run(queue, cwd=project, env=env, check=True, capture_output=True)
        if omp_threads:
            env["OMP_NUM_THREADS"] = omp_threads
        start = time.perf_counter()
        start_workers = [*DVC, "queue", "start", "--jobs", str(workers)]
        subprocess.run(start_workers, cwd=project, env=env, check=True, capture_output=True)
        while True:
            status = subprocess.run(
                [*DVC, "queue", "status"], cwd=project, env=env, capture_output=True, text=True
            ).stdout
            if "Queued" not in status and "Running" not in status:
                break
            time.sleep(1)
        seconds = time.perf_counter() - start
        subprocess.run([*DVC, "queue", "stop"], cwd=project, env=env, capture_output=True)
        if status.count("Success") != 6:
            raise SystemExit(f"the sweep did not succeed:\n{status}")
        return seconds


def exp_run_against_repro() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        project = reproduced_project(Path(folder))
        experiment = timed([*DVC, "exp", "run", "-S", "model.C=0.5"], project)
        subprocess.run(["git", "checkout", "--", "."], cwd=project, check=True)
        subprocess.run([*DVC, "checkout", "--quiet"], cwd=project, env=tool_env(), check=True)
        params = yaml.safe_load((project / "params.yaml").read_text())
        params["model"]["C"] = 0.5
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        return experiment, timed([*DVC, "repro"], project)


def main() -> None:
    one, two, single = sweep_seconds(1), sweep_seconds(2), sweep_seconds(2, "1")
    experiment, repro = exp_run_against_repro()
    print("seconds, classification demo")
    print(f"README sweep (6 experiments), -j 1    {one:7.1f}")
    print(f"same, -j 2                            {two:7.1f}   (ratio {one / two:.2f})")
    print(f"same, -j 2 with OMP_NUM_THREADS=1     {single:7.1f}   (ratio {one / single:.2f})")
    print(f"dvc exp run -S model.C=0.5            {experiment:7.1f}")
    print(f"same change, dvc repro                {repro:7.1f}")


if __name__ == "__main__":
    main()
