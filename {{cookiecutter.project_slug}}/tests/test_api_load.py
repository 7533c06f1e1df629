"""The API under hostile load on 127.0.0.1: no 5xx, a bounded p99, a prompt stop.

A real server process on a reproduced copy of this project takes a fixed number of
requests from a few clients: good records mixed with oversized, non-finite, malformed
and over-long ones. Each kind must get its own status, and SIGTERM must stop it.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import free_port

from {{ cookiecutter.package_name }}.core.config import load_params

pytestmark = pytest.mark.slow

PACKAGE = "{{ cookiecutter.package_name }}"
RAW = load_params(Path(__file__).resolve().parents[1] / "params.yaml").data.raw_path
REQUESTS, CLIENTS, TIME_LIMIT = 600, 8, 120  # a bounded load: count, concurrency, seconds


def good_record(project: Path) -> dict:
    """The raw file's first complete row, without the target, as a client sends it."""
    params = load_params(project / "params.yaml")
    target = params.data.columns[params.data.target].source
    sources = [c.source for c in params.data.inputs().values() if c.source != target]
    with (project / RAW).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if all(row[source] not in params.data.na_values for source in sources):
                return {source: row[source] for source in sources}
    raise AssertionError("no complete row in the raw data")


def hostile_bodies(record: dict) -> list[tuple[str, bytes]]:
    """(kind, body): one good request and the attacks, each a few times in the load."""
    field = next(iter(record))
    number = next(key for key, value in record.items() if re.fullmatch(r"-?[\d.]+", value))
    as_json = lambda value: json.dumps(value).encode()  # noqa: E731
    return [
        ("good", as_json(record)),
        ("5 MB string", as_json({**record, field: "x" * 5_000_000})),
        ("NaN", as_json({**record, number: float("nan")})),
        ("1e400", json.dumps(record)[:-1].encode() + f', "{number}": 1e400}}'.encode()),
        ("10 k records", as_json([record] * 10_000)),
        ("1,001 records", as_json([record] * 1001)),
        ("900-character value", as_json({**record, field: "9" * 900})),
        ("not JSON", b"{" * 1000),
        ("a list of numbers", as_json(list(range(100)))),
    ]


def post(port: int, body: bytes) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.perf_counter()
    try:
        connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - start
    except (ConnectionError, http.client.HTTPException):  # the server may close early on 413
        return 413, time.perf_counter() - start
    finally:
        connection.close()


@contextmanager
def serving(project: Path, *options: str) -> Iterator[int]:
    """A real server on a free port of 127.0.0.1; on exit, SIGTERM must stop it promptly."""
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", PACKAGE, "serve", "--port", str(port), *options],
        cwd=project, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        server.wait(timeout=15)
    assert time.monotonic() - stopped < 10
    assert "Traceback" not in server.stderr.read().decode(errors="replace")


def test_the_api_survives_hostile_load_and_stops_on_sigterm(reproduced):
    with serving(reproduced) as port:
        kinds = hostile_bodies(good_record(reproduced))
        load = [kinds[i % len(kinds)] for i in range(REQUESTS)]
        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(lambda item: (item[0], *post(port, item[1])), load))
    assert time.monotonic() - started < TIME_LIMIT
    statuses: dict[str, set[int]] = {}
    for kind, status, _ in answers:
        statuses.setdefault(kind, set()).add(status)
    assert statuses.pop("good") == {200}
    assert statuses.pop("5 MB string") == {413}
    assert statuses.pop("10 k records") == {413}
    assert all(codes == {422} for codes in statuses.values()), statuses
    seconds = sorted(elapsed for _, _, elapsed in answers)
    assert statistics.quantiles(seconds, n=100)[98] < 2.0  # p99, generous for shared CI


def test_the_limits_are_options_of_serve(reproduced):
    record = good_record(reproduced)
    with serving(reproduced, "--max-body-bytes", "2000", "--max-records", "2") as port:
        assert post(port, json.dumps([record] * 2).encode())[0] == 200
        assert post(port, json.dumps([record] * 3).encode())[0] == 422  # three records
        assert post(port, json.dumps([record] * 8).encode())[0] == 413  # over 2,000 bytes
