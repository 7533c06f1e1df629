"""A burst against the generated API: every request must get an HTTP status, and the
server's memory must come back after it.

Bakes (or takes with --project) a reproduced default project, starts `serve` on
127.0.0.1, sends --requests concurrent POSTs of --records raw rows each from one
asyncio client (raw sockets, no connection reuse), and prints the statuses, the
server's peak RSS during the burst and its RSS 5 s after it, beside its RSS at rest.

    .venv/bin/python benchmarks/burst.py --project /path/to/reproduced/penguins-ml
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import csv
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

NA = {"NA", ".", ""}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def records(project: Path, count: int) -> list[dict]:
    with (project / "data/raw/penguins-raw.csv").open(newline="") as handle:
        rows = [{k: (None if v in NA else v) for k, v in r.items()} for r in csv.DictReader(handle)]
    for row in rows:
        for key in ("Culmen Length (mm)", "Culmen Depth (mm)", "Flipper Length (mm)",
                    "Body Mass (g)", "Delta 15 N (o/oo)", "Delta 13 C (o/oo)"):  # fmt: skip
            row[key] = None if row[key] is None else float(row[key])
    rows = [r for r in rows if r["Island"]]
    return [rows[i % len(rows)] for i in range(count)]


async def post(port: int, body: bytes, timeout: float) -> str:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        head = (
            f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        writer.write(head + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        writer.close()
        return line.split()[1].decode() if line else "reset, no status"
    except (ConnectionError, OSError):
        return "reset, no status"
    except asyncio.TimeoutError:
        return "no answer in time"


async def burst(port: int, body: bytes, requests: int, timeout: float) -> collections.Counter:
    answers = await asyncio.gather(*(post(port, body, timeout) for _ in range(requests)))
    return collections.Counter(answers)


def package_of(project: Path) -> str:
    (main,) = (project / "src").glob("*/__main__.py")
    return main.parent.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a reproduced project")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--serve-args", default="", help="extra options for serve")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.project / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", package_of(args.project), "serve", "--port",
         str(args.port), *args.serve_args.split()],
        cwd=args.project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):
            time.sleep(0.1)
            try:
                import urllib.request

                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/health", timeout=1)
                break
            except OSError:
                continue
        body = json.dumps(records(args.project, args.records)).encode()
        asyncio.run(burst(args.port, body, 1, args.timeout))  # warm: lazy imports, buffers
        rest = rss_mb(server.pid)
        peak, done = rest, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_mb(server.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        statuses = asyncio.run(burst(args.port, body, args.requests, args.timeout))
        took = time.perf_counter() - started
        done.set()
        sampler.join()
        time.sleep(5)
        settled = rss_mb(server.pid)
        print(f"{args.requests} requests of {args.records} records ({len(body) / 1e6:.2f} MB "
              f"each), all at once, in {took:.1f} s")  # fmt: skip
        for status, count in sorted(statuses.items()):
            print(f"  {status}: {count}")
        print(f"server RSS: {rest:.0f} MB after one request, {peak:.0f} MB peak, ", end="")
        print(f"{settled:.0f} MB 5 s after")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
