"""Scale benchmark: a generated project's pipeline on millions of rows, and its API.

    .venv/bin/python benchmarks/scale.py --rows 1000000 [--parts stages,repro,api,imports]
                                         [--repeat 3] [--keep DIR]
    .venv/bin/python benchmarks/scale.py --engine dask --rows 10000000

Bakes a default project, replaces its raw CSV with ``--rows`` penguins-shaped rows (the
demo's real rows resampled, each number jittered by about 1 % and kept inside the
schema's bounds) and prints, as Markdown tables:

- stages: each stage run directly (``python -m <package>.stages.<name>``) in order,
  with wall time and peak resident memory of its largest process, and the size of the
  project report the last stage writes;
- repro: a cold ``dvc repro`` and, after a model-parameter change, an incremental one;
- api: ``serve`` on 127.0.0.1, single-record requests from 16 keep-alive connections
  (fixed request count and time limit), then 1,000-record requests, then good records
  mixed with the hostile requests of the project's own API load test;
- imports: ``python -m <package> predict --help`` against ``python -c "import sklearn"``.

With ``--engine dask`` the benchmark starts a Dask scheduler and two single-threaded
workers on 127.0.0.1 itself, points the project at them (``compute.engine: dask``) and
runs the row-wise stages (clean, featurize, split), printing for each the peak resident
memory of the stage process, of the scheduler and of the largest worker.

Everything runs on this machine; the load goes to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import TEMPLATE, bake, free_port, tool_env

STAGES = ["clean", "featurize", "split", "train", "evaluate", "profile", "report"]
DEMO_CSV = TEMPLATE / "{{cookiecutter.project_slug}}" / "data" / "raw" / "penguins-raw.csv"
# Numeric raw columns: decimals written, as in the demo file.
NUMERIC = {
    "Culmen Length (mm)": 1,
    "Culmen Depth (mm)": 1,
    "Flipper Length (mm)": 0,
    "Body Mass (g)": 0,
    "Delta 15 N (o/oo)": 5,
    "Delta 13 C (o/oo)": 5,
}
CHUNK_ROWS = 500_000
PARTS = ("stages", "repro", "api", "imports")
ROW_STAGES = ["clean", "featurize", "split"]  # what the dask engine runs partition by partition
DASK_WORKERS = 2
HOSTILE_REQUESTS = 1800  # the API part's second load: good and hostile requests mixed


def write_rows(rows: int, target: Path, seed: int = 0) -> None:
    """``rows`` resampled demo rows with jittered numbers, written in chunks."""
    demo = pd.read_csv(DEMO_CSV, dtype=str, keep_default_na=False)
    numbers = {name: pd.to_numeric(demo[name], errors="coerce") for name in NUMERIC}
    rng = np.random.default_rng(seed)
    with target.open("w", encoding="utf-8", newline="") as handle:
        for start in range(0, rows, CHUNK_ROWS):
            size = min(CHUNK_ROWS, rows - start)
            picked = rng.integers(0, len(demo), size)
            chunk = demo.iloc[picked].reset_index(drop=True)
            chunk["Sample Number"] = np.arange(start + 1, start + size + 1).astype(str)
            for name, decimals in NUMERIC.items():
                source = numbers[name].to_numpy()
                low, high = np.nanmin(source), np.nanmax(source)
                values = source[picked] * rng.normal(1.0, 0.01, size)
                values = np.clip(values, low, high).round(decimals)
                text = pd.Series(values).map(f"{{:.{decimals}f}}".format)
                chunk[name] = text.where(~np.isnan(values), "NA")
            chunk.to_csv(handle, index=False, header=start == 0, lineterminator="\n")


# Starts a command and writes its peak RSS (KiB, the largest process it waited for) to a
# file. Linux starts a child's peak RSS at its parent's RSS, so commands are started from
# this small process rather than from the benchmark, which has held the generated rows.
LAUNCHER = """
import pathlib, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
pathlib.Path(sys.argv[1]).write_text(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def measured(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS bytes of ``command`` (its largest process)."""
    with tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak"
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(peak_file), *command],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout.decode(errors='replace')}")
        return seconds, int(peak_file.read_text()) * 1024


def gigabytes(count: int) -> str:
    return f"{count / 1e9:.2f} GB"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def bench_stages(
    project: Path, package: str, env: dict[str, str], csv_bytes: int, repeat: int
) -> str:
    """Each stage ``repeat`` times in a row: the median wall time and the highest peak."""
    rows, total = [], 0.0
    for stage in STAGES:
        command = [sys.executable, "-m", f"{package}.stages.{stage}"]
        runs = [measured(command, project, env) for _ in range(repeat)]
        seconds, peak = statistics.median(s for s, _ in runs), max(p for _, p in runs)
        total += seconds
        extra = f"{csv_bytes / seconds / 1e6:.0f} MB/s of CSV" if stage == "clean" else ""
        if stage == "report":
            size = (project / "reports/report.html").stat().st_size
            extra = f"reports/report.html: {size / 1e6:.2f} MB"
        rows.append([stage, f"{seconds:.1f} s", gigabytes(peak), f"{peak / csv_bytes:.2f}", extra])
    rows.append(["**sum**", f"**{total:.1f} s**", "", "", ""])
    wall = "wall" if repeat == 1 else f"wall (median of {repeat})"
    return table(["stage (run directly)", wall, "peak RSS", "peak / CSV bytes", ""], rows)


def set_model_parameter(project: Path) -> str:
    """Change the model's regularisation in params.yaml, as `dvc exp run -S` would."""
    params = project / "params.yaml"
    text = params.read_text()
    for old, new in (("  C: 1.0\n", "  C: 0.5\n"), ("  alpha: 1.0\n", "  alpha: 2.0\n")):
        if old in text:
            params.write_text(text.replace(old, new, 1))
            return new.strip()
    raise SystemExit("params.yaml has neither model.C: 1.0 nor model.alpha: 1.0")


def bench_repro(project: Path, env: dict[str, str]) -> str:
    dvc = [sys.executable, "-m", "dvc", "repro"]
    (project / "dvc.lock").unlink(missing_ok=True)  # cold: every stage runs
    cold, cold_peak = measured(dvc, project, env)
    change = set_model_parameter(project)
    warm, warm_peak = measured(dvc, project, env)
    return table(
        ["dvc repro", "wall", "peak RSS (any process)", "vs cold"],
        [
            ["cold", f"{cold:.1f} s", gigabytes(cold_peak), "1.00"],
            [
                f"after `model.{change}`",
                f"{warm:.1f} s",
                gigabytes(warm_peak),
                f"{warm / cold:.2f}",
            ],
        ],
    )


def demo_records(count: int) -> list[dict]:
    """Raw demo rows as API records: numbers as numbers, missing as null."""
    demo = pd.read_csv(DEMO_CSV, na_values=["NA", "."], keep_default_na=False)
    records = json.loads(demo.to_json(orient="records"))
    return [records[i % len(records)] for i in range(count)]


def http_request(body: bytes) -> bytes:
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def exchange(reader, writer, request: bytes) -> int:
    """Send one request on a keep-alive connection; read the whole response; its status."""
    writer.write(request)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def load(
    port: int, requests: list[bytes], total: int, concurrency: int, limit: float
) -> tuple[list[float], dict, float]:
    """``total`` requests over ``concurrency`` connections, stopping at ``limit`` seconds."""
    issued, latencies, statuses = itertools.count(), [], {}
    deadline = time.perf_counter() + limit

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (n := next(issued)) < total and (left := deadline - time.perf_counter()) > 0:
            start = time.perf_counter()
            try:
                reply = exchange(reader, writer, requests[n % len(requests)])
                status = await asyncio.wait_for(reply, timeout=left)
            except (asyncio.TimeoutError, ConnectionError, IndexError):
                statuses["failed"] = statuses.get("failed", 0) + 1
                break
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, statuses, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def wait_until_up(port: int, server: subprocess.Popen, limit: float = 120.0) -> None:
    import urllib.request

    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"serve exited with {server.returncode}: see serve.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("serve did not answer /health in time")


def bench_api(project: Path, package: str, env: dict[str, str], repeat: int = 1) -> str:
    """The server under load; with ``repeat``, the run of median throughput is shown."""
    port = free_port()
    command = [sys.executable, "-m", package, "serve", "--port", str(port)]
    log = (project / "serve.log").open("wb")  # a pipe nobody reads would fill and stall it
    server = subprocess.Popen(command, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(port, server)
        singles = [http_request(json.dumps(r).encode()) for r in demo_records(344)]
        asyncio.run(load(port, singles, 200, 4, 30))  # warm up
        runs = [asyncio.run(load(port, singles, 5000, 16, 60)) for _ in range(repeat)]
        latencies, statuses, seconds = sorted(runs, key=lambda r: len(r[0]) / r[2])[repeat // 2]
        batch = [http_request(json.dumps(demo_records(1000)).encode())]
        batch_latencies, batch_statuses, _ = asyncio.run(load(port, batch, 30 * repeat, 1, 60))
        hostile = hostile_load(project, port, HOSTILE_REQUESTS)
        held = hostile_connections(project, port)
        hwm = Path(f"/proc/{server.pid}/status").read_text().split("VmHWM:")[1].split()[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    rows = [
        [
            "1 record, concurrency 16" + (f" (median of {repeat} runs)" if repeat > 1 else ""),
            f"{len(latencies)} in {seconds:.1f} s",
            f"{len(latencies) / seconds:.0f}",
            f"{percentile(latencies, 50):.1f}",
            f"{percentile(latencies, 99):.1f}",
            json.dumps(statuses),
        ],
        [
            "1,000 records, concurrency 1",
            f"{len(batch_latencies)}",
            f"{len(batch_latencies) / sum(batch_latencies):.1f}",
            f"{percentile(batch_latencies, 50):.1f}",
            f"{percentile(batch_latencies, 99):.1f}",
            json.dumps(batch_statuses),
        ],
    ]
    header = ["API (1 uvicorn worker)", "requests", "per s", "p50 ms", "p99 ms", "statuses"]
    peak = f"server peak RSS: {int(hwm) / 1e6:.2f} GB"
    return f"{table(header, rows)}\n\n{hostile}\n\n{held}\n\n{peak}"


def hostile_load(project: Path, port: int, count: int, clients: int = 8) -> str:
    """Good records mixed with the attacks the project's API load test sends."""
    from concurrent.futures import ThreadPoolExecutor

    sys.path[:0] = [str(project / "tests"), str(project / "src")]
    from test_api_load import good_record, hostile_bodies, post

    kinds = hostile_bodies(good_record(project))
    mix = [kinds[i % len(kinds)] for i in range(count)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(lambda item: (item[0], *post(port, item[1])), mix))
    seconds = time.perf_counter() - start
    rows = []
    for kind, _ in kinds:
        seconds_each = [elapsed for name, _, elapsed in answers if name == kind]
        statuses = sorted({status for name, status, _ in answers if name == kind})
        rows.append([kind, str(len(seconds_each)), str(statuses),
                     f"{percentile(seconds_each, 50):.0f}",
                     f"{percentile(seconds_each, 99):.0f}"])  # fmt: skip
    every = [elapsed for *_, elapsed in answers]
    server_errors = sum(status >= 500 for _, status, _ in answers)
    rows.append(["**all**", f"{count} in {seconds:.1f} s", f"{server_errors} 5xx",
                 f"{percentile(every, 50):.0f}", f"{percentile(every, 99):.0f}"])  # fmt: skip
    header = [f"hostile mix, {clients} clients", "requests", "statuses", "p50 ms", "p99 ms"]
    return table(header, rows)


def hostile_connections(project: Path, port: int) -> str:
    """Normal requests timed while idle, slow-body and giant-header clients are held
    open, with the project's API load test's clients."""
    from test_api_load import good_record, under_hostile_connections

    seen = under_hostile_connections(port, json.dumps(good_record(project)).encode(), 1000)
    seconds = [elapsed for _, elapsed in seen["normal"]]
    statuses = sorted({status for status, _ in seen["normal"]})
    refused = {
        kind: sorted({reply[9:12].decode() or "closed" for reply in seen[kind]})
        for kind in ("idle", "slow", "giant")
    }
    header = ["normal traffic under hostile connections", "requests", "statuses", "p50 ms",
              "p99 ms", "max ms"]  # fmt: skip
    row = ["1,000 idle + 50 slow-body + 10 giant-header clients held open",
           str(len(seconds)), str(statuses), f"{percentile(seconds, 50):.1f}",
           f"{percentile(seconds, 99):.1f}", f"{max(seconds) * 1000:.1f}"]  # fmt: skip
    answered = ", ".join(f"{kind}: {codes}" for kind, codes in refused.items())
    return f"{table(header, [row])}\n\nhostile clients were answered: {answered}"


def bench_imports(project: Path, package: str, env: dict[str, str], repeats: int = 9) -> str:
    """Each command's start-up against importing scikit-learn, measured in turns so that
    the machine's drift affects both alike."""
    commands = {'`python -c "import sklearn"`': [sys.executable, "-c", "import sklearn"]}
    for name in ("predict", "serve", "monitor"):
        commands[f"`python -m {package} {name} --help`"] = [
            sys.executable, "-m", package, name, "--help"
        ]  # fmt: skip
    times: dict[str, list[float]] = {shown: [] for shown in commands}
    for _ in range(repeats):
        for shown, command in commands.items():
            times[shown].append(measured(command, project, env)[0])
    medians = {shown: statistics.median(values) for shown, values in times.items()}
    sklearn = next(iter(medians.values()))
    rows = [[shown, f"{value:.2f} s", f"{value / sklearn:.2f}"] for shown, value in medians.items()]
    return table([f"command (median of {repeats}, in turns)", "wall", "vs import sklearn"], rows)


def peak_memory(process: psutil.Process) -> int:
    """The process's peak resident memory (VmHWM) since it started or was last reset."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"no VmHWM for process {process.pid}")


def reset_peak_memory(process: psutil.Process) -> None:
    Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # Linux: VmHWM := current RSS


class DaskCluster:
    """A scheduler and workers on 127.0.0.1, as separate processes this benchmark owns."""

    def __init__(self, env: dict[str, str]) -> None:
        from distributed import Client

        dask = str(Path(sys.executable).with_name("dask"))
        self.address = f"tcp://127.0.0.1:{free_port()}"
        quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], **quiet
        )
        self.worker = subprocess.Popen(
            [dask, "worker", self.address, "--nworkers", str(DASK_WORKERS), "--nthreads", "1",
             "--no-dashboard"], **quiet,
        )  # fmt: skip
        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(DASK_WORKERS, timeout=120)

    def workers(self) -> list[psutil.Process]:
        """The worker processes (the CLI process runs the nannies; each spawns a worker)."""
        return [psutil.Process(self.worker.pid), *psutil.Process(self.worker.pid).children()]

    def processes(self) -> list[psutil.Process]:
        return [psutil.Process(self.scheduler.pid), *self.workers()]

    def stop(self) -> None:
        for process in (self.worker, self.scheduler):
            process.terminate()
            process.wait(timeout=60)


def use_cluster(project: Path, address: str) -> None:
    """Switch the project's params.yaml to the dask engine on ``address``."""
    params = project / "params.yaml"
    text = params.read_text()
    for old, new in (("  engine: pandas\n", "  engine: dask\n"),
                     ("  scheduler: null\n", f"  scheduler: {address}\n")):  # fmt: skip
        if old not in text:
            raise SystemExit(f"params.yaml has no {old.strip()!r} under compute")
        text = text.replace(old, new, 1)
    params.write_text(text)


def bench_dask_stages(
    project: Path, package: str, env: dict[str, str], csv_bytes: int, cluster: DaskCluster
) -> str:
    """The row-wise stages on the cluster: wall time and each kind of process's peak."""
    rows = []
    for stage in ROW_STAGES:
        for process in cluster.processes():
            reset_peak_memory(process)
        command = [sys.executable, "-m", f"{package}.stages.{stage}"]
        seconds, stage_peak = measured(command, project, env)
        scheduler_peak = peak_memory(psutil.Process(cluster.scheduler.pid))
        worker_peak = max(peak_memory(process) for process in cluster.workers())
        extra = f"{csv_bytes / seconds / 1e6:.0f} MB/s of CSV" if stage == "clean" else ""
        largest = max(stage_peak, scheduler_peak, worker_peak)
        rows.append([
            stage, f"{seconds:.1f} s", gigabytes(stage_peak), gigabytes(scheduler_peak),
            gigabytes(worker_peak), gigabytes(largest), extra,
        ])  # fmt: skip
    header = ["stage (dask, 2 workers)", "wall", "stage process", "scheduler",
              "largest worker", "largest process", ""]  # fmt: skip
    return table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"any of {', '.join(PARTS)}")
    parser.add_argument("--keep", type=Path, help="bake into this folder and keep it")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each stage and API load: the median"
    )
    parser.add_argument("--engine", choices=["pandas", "dask"], default="pandas")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if args.repeat < 1:
        parser.error(f"--repeat must be 1 or more, not {args.repeat}")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    result = bake(folder)
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    project = next(path for path in folder.iterdir() if (path / "dvc.yaml").is_file())
    package = next((project / "src").iterdir()).name
    env = tool_env(PYTHONPATH=str(project / "src"))
    raw = project / "data" / "raw" / "penguins-raw.csv"
    start = time.perf_counter()
    write_rows(args.rows, raw)
    csv_bytes = raw.stat().st_size
    print(f"{args.rows:,} rows, {csv_bytes / 1e6:.0f} MB of CSV, made in "
          f"{time.perf_counter() - start:.0f} s; project: {project}\n", flush=True)  # fmt: skip
    if args.engine == "dask":  # the row-wise stages only, run directly: no `dvc add`
        cluster = DaskCluster(env)
        try:
            use_cluster(project, cluster.address)
            print(bench_dask_stages(project, package, env, csv_bytes, cluster), end="\n\n")
        finally:
            cluster.stop()
        return
    subprocess.run([sys.executable, "-m", "dvc", "add", str(raw)], cwd=project, env=env,
                   check=True, capture_output=True)  # fmt: skip
    benches = {
        "stages": lambda: bench_stages(project, package, env, csv_bytes, args.repeat),
        "repro": lambda: bench_repro(project, env),
        "api": lambda: bench_api(project, package, env, args.repeat),
        "imports": lambda: bench_imports(project, package, env),
    }
    if "api" in parts and not {"stages", "repro"} & set(parts):
        subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=project, env=env,
                       check=True, capture_output=True)  # the API needs a model  # fmt: skip
    for part in PARTS:
        if part in parts:
            print(benches[part](), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
