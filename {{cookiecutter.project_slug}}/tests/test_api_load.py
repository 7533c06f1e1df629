"""The API under hostile load on 127.0.0.1: no 5xx, a bounded p99, a prompt stop.

A real server process on a reproduced copy of this project takes a fixed number of
requests from a few clients: good records mixed with oversized, non-finite, malformed
and over-long ones. Each kind must get its own status, and SIGTERM must stop it. Then
hostile connections: idle, slow-body and giant-header clients held open while normal
traffic is timed, and SIGTERM with request bodies still arriving.
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
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from helpers import free_port

from {{ cookiecutter.package_name }}.core.config import load_params
from {{ cookiecutter.package_name }}.ops.guard import MAX_HEAD_BYTES

pytestmark = pytest.mark.slow

PACKAGE = "{{ cookiecutter.package_name }}"
RAW = load_params(Path(__file__).resolve().parents[1] / "params.yaml").data.raw_path
REQUESTS, CLIENTS, TIME_LIMIT = 600, 8, 120  # a bounded load: count, concurrency, seconds
# serve's --idle-seconds and --read-seconds, shorter than its defaults (5 and 10) so the
# tests wait seconds where a client is made to wait for them.
IDLE_SECONDS, READ_SECONDS = 2, 4


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


def get(port: int, path: str) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.perf_counter()
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - start
    finally:
        connection.close()


def opened(port: int, head: bytes = b"") -> socket.socket:
    """A connection to the server that has sent ``head`` and nothing more."""
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.sendall(head)
    return client


def unfinished_post(port: int, sent: int = 1, declared: int = 1000) -> socket.socket:
    """A POST whose declared body has only ``sent`` of its bytes so far."""
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n"
    return opened(port, head.encode() + b"[" * sent)


def answer(client: socket.socket, wait: float = 2 * READ_SECONDS) -> bytes:
    """What the server sent before it closed the connection; a server that keeps it
    open longer than ``wait`` seconds fails the test."""
    client.settimeout(wait)
    received = b""
    try:
        while chunk := client.recv(65536):
            received += chunk
    except ConnectionResetError:  # reset after the server's answer
        pass
    return received


def giant_header(port: int, size: int = 8_000_000) -> bytes:
    """Send a header line of ``size`` bytes (or until refused) and return the answer."""
    client = opened(port, b"GET /health HTTP/1.1\r\nX-Pad: ")
    try:
        for _ in range(size // 65536):
            client.sendall(b"a" * 65536)
    except (BrokenPipeError, ConnectionResetError):  # refused while the header arrived
        pass
    return answer(client)


def trickle(clients: list[socket.socket], stop: threading.Event) -> None:
    """Send each slow client one more body byte every half second."""
    while not stop.wait(0.5):
        for client in clients:
            with suppress(OSError):
                client.send(b" ")


@contextmanager
def serving(project: Path, *options: str, log: list[str] | None = None) -> Iterator[int]:
    """A real server on a free port of 127.0.0.1; on exit, SIGTERM must stop it promptly.
    Its standard error, read after it stops, is appended to ``log``."""
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", PACKAGE, "serve", "--port", str(port),
         "--idle-seconds", str(IDLE_SECONDS), "--read-seconds", str(READ_SECONDS), *options],
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
    errors = server.stderr.read().decode(errors="replace")
    assert "Traceback" not in errors
    if log is not None:
        log.append(errors)


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


def under_hostile_connections(port: int, body: bytes, count: int = 200) -> dict[str, list]:
    """Time ``count`` normal requests (/health and /predict in turn, each on a new
    connection) while 1,000 idle, 50 slow-body and 10 giant-header clients are
    connected; then collect what each hostile client was answered."""
    idle = [opened(port) for _ in range(1000)]
    slow = [unfinished_post(port) for _ in range(50)]
    stop = threading.Event()
    threading.Thread(target=trickle, args=(slow, stop), daemon=True).start()
    with ThreadPoolExecutor(10) as pool:
        giants = pool.map(lambda _: giant_header(port), range(10))
        normal = [get(port, "/health") if i % 2 else post(port, body) for i in range(count)]
        giant_answers = list(giants)
    slow_answers = [answer(client) for client in slow]
    stop.set()
    idle_answers = [answer(client) for client in idle]
    return {"normal": normal, "giant": giant_answers, "slow": slow_answers, "idle": idle_answers}


def test_the_api_answers_while_hostile_clients_hold_connections(reproduced):
    with serving(reproduced) as port:
        seen = under_hostile_connections(port, json.dumps(good_record(reproduced)).encode())
        header = b"X-Pad: " + b"a" * (MAX_HEAD_BYTES // 2) + b"\r\n\r\n"
        fits = opened(port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + header)
        assert answer(fits).startswith(b"HTTP/1.1 200 ")
        idle, started = opened(port), time.monotonic()
        assert answer(idle) == b""  # closed by the server, with nothing to say
        assert IDLE_SECONDS - 1 < time.monotonic() - started < IDLE_SECONDS + 3
    assert {status for status, _ in seen["normal"]} == {200}
    assert statistics.quantiles([seconds for _, seconds in seen["normal"]], n=100)[98] < 1.0
    assert all(reply.startswith(b"HTTP/1.1 431 ") for reply in seen["giant"]), seen["giant"]
    assert all(reply.startswith(b"HTTP/1.1 408 ") for reply in seen["slow"])
    assert b"not received within" in seen["slow"][0]
    assert seen["idle"] == [b""] * 1000


def test_sigterm_drops_the_requests_still_arriving_with_one_line_each(reproduced):
    log: list[str] = []
    with serving(reproduced, log=log) as port:
        arriving = [unfinished_post(port, sent=10) for _ in range(40)]
        assert get(port, "/health")[0] == 200  # every request above has reached the server
    dropped = [line for line in log[0].splitlines() if "request being received is dropped" in line]
    assert len(dropped) == len(arriving)
