"""The HTTP server's limits on its clients, which uvicorn leaves open.

With its httptools parser, uvicorn buffers a request head of any size, keeps a
connection that never sends a byte open for ever, waits as long as a body takes to
trickle in, and logs a traceback for each request still being read when it stops.
Each such client holds a file descriptor and memory, so a few hundred of them starve
everyone else. ``GuardedHttp`` is uvicorn's own protocol with those four bounds:

- a request head (request line and headers) over ``MAX_HEAD_BYTES`` gets 431;
- a connection with no request under way is closed after ``IDLE_SECONDS``
  (``serve --idle-seconds``);
- a request whose head and body have not arrived ``READ_SECONDS`` (``--read-seconds``)
  after its first byte gets 408 and is closed;
- past ``max_connections`` (set from the file limit), a new connection closes the one
  idle the longest, or gets 503 when none is idle.

On SIGTERM a request still being read is dropped with one log line, not a traceback.

These hooks use names uvicorn does not document. pyproject.toml allows only the uvicorn
versions they were tested with (``UVICORN_VERSIONS``), and ``check_uvicorn`` refuses, at
import, a uvicorn that lacks any of them, rather than failing on a client's request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from ..core.errors import PipelineError

MAX_HEAD_BYTES = 32 * 1024  # nginx allows 4 x 8 KB of headers by default
IDLE_SECONDS = 5.0  # uvicorn's own keep-alive timeout, now also before a first request
READ_SECONDS = 10.0  # from a request's first byte to its last
SPARE_FILES = 64  # descriptors kept for the listener, logs and the model's files

UVICORN_VERSIONS = ">=0.29,<0.56"  # as in pyproject.toml
# What GuardedHttp uses of uvicorn: methods it extends, and attributes uvicorn sets.
UVICORN_METHODS = (
    "connection_made", "connection_lost", "data_received", "on_message_begin",
    "on_headers_complete", "on_message_complete", "on_response_complete", "shutdown",
    "timeout_keep_alive_handler",
)  # fmt: skip
UVICORN_ATTRIBUTES = (
    "client", "connections", "cycle", "loop", "timeout_keep_alive_task", "transport",
)  # fmt: skip
CYCLE_ATTRIBUTES = ("response_complete", "response_started")


def assigned(*functions: object) -> set[str]:
    """The attribute names the code of ``functions`` stores or reads."""
    return {name for function in functions for name in function.__code__.co_names}


def missing_names(protocol: type, cycle: type) -> list[str]:
    """What GuardedHttp needs that ``protocol`` (and its request ``cycle``) lacks."""
    missing = [name for name in UVICORN_METHODS if not callable(getattr(protocol, name, None))]
    if not missing:
        sets = assigned(protocol.__init__, protocol.connection_made)
        missing += [name for name in UVICORN_ATTRIBUTES if name not in sets]
    missing += [name for name in CYCLE_ATTRIBUTES if name not in assigned(cycle.__init__)]
    return missing


def check_uvicorn(protocol: type = HttpToolsProtocol, cycle: type = RequestResponseCycle) -> None:
    """Refuse a uvicorn whose HTTP protocol lacks what GuardedHttp uses, naming the range."""
    if missing := missing_names(protocol, cycle):
        from uvicorn import __version__

        raise PipelineError(
            f"uvicorn {__version__} lacks what ops/guard.py extends ({', '.join(missing)}): "
            f"install uvicorn{UVICORN_VERSIONS}, the versions pyproject.toml allows"
        )


check_uvicorn()

logger = logging.getLogger("uvicorn.error")


def open_file_limit() -> int:
    """Raise this process's open-file limit to the hard limit and return it: each
    connection is one open file, and the usual soft limit of 1,024 is low for a server."""
    try:
        import resource  # not on Windows
    except ImportError:
        return 512
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft if soft != resource.RLIM_INFINITY else 65536


class GuardedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded heads, read times and connections."""

    max_connections: ClassVar[int] = 1024 - SPARE_FILES  # serve sets it from the file limit
    idle_seconds: ClassVar[float] = IDLE_SECONDS  # serve's --idle-seconds
    read_seconds: ClassVar[float] = READ_SECONDS  # serve's --read-seconds

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_bytes = 0
        self.in_head = False  # the current request's head is still arriving
        self.read_timer: asyncio.TimerHandle | None = None
        self.idle_since = self.loop.time()
        if len(self.connections) > self.max_connections and not self.make_room():
            self.refuse(503, "too many open connections: try again shortly")
            return
        # uvicorn arms its keep-alive timer only after a response: arm it now too.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.idle_seconds, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_read_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.in_head and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self.refuse(431, f"request line and headers over {MAX_HEAD_BYTES} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes, self.in_head = 0, True
        self.stop_read_timer()
        self.read_timer = self.loop.call_later(self.read_seconds, self.too_slow)

    def on_headers_complete(self) -> None:
        self.in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.stop_read_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.idle_since = self.loop.time()
        super().on_response_complete()

    def shutdown(self) -> None:
        if self.reading():
            logger.warning("%s: stopping, so the request being received is dropped", self.peer())
            self.transport.close()
            return
        super().shutdown()

    def reading(self) -> bool:
        return self.read_timer is not None

    def idle(self) -> bool:
        busy = self.cycle is not None and not self.cycle.response_complete
        return not busy and not self.reading()

    def make_room(self) -> bool:
        """Close the connection idle the longest; False when every one is busy."""
        idle = [c for c in self.connections if c is not self and c.idle()]
        if not idle:
            return False
        min(idle, key=lambda connection: connection.idle_since).transport.close()
        return True

    def too_slow(self) -> None:
        self.read_timer = None
        seconds = self.read_seconds
        logger.warning("%s: request not received within %s s, closed", self.peer(), seconds)
        if self.cycle is not None and not self.in_head and self.cycle.response_started:
            self.transport.close()  # the app has answered already
        else:
            self.refuse(408, f"request not received within {seconds:g} s")

    def stop_read_timer(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None

    def refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with a one-line text body and close the connection."""
        if self.transport.is_closing():
            return
        body = message.encode()
        head = b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
        length = b"content-length: %d\r\n\r\n" % len(body)
        self.transport.write(STATUS_LINE[status] + head + length + body)
        self.transport.close()

    def peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
