"""Online prediction: a FastAPI app over the same model and code path as batch prediction.

``POST /predict`` takes one record or a list, keyed by the raw data's column names
(the CSV headers in conf/data/; any other key is refused); ``GET /health``;
``GET /metadata`` (model version, training data hash, metrics). The request model is
derived from the schema and checks every field once (type, bounds, allowed values,
length), so a bad request gets 422 with an error per field, never a stack trace. Valid
records then go through the training code (parsing, tidying, derived features) and the
model, in batches.

Admission is bounded: at most ``--max-concurrent`` prediction requests are parsed and
predicted at once; one more gets 503 with ``Retry-After`` as soon as its body is in,
before it is parsed, so a burst cannot queue without limit or hold memory after it.
Bodies in transit are bounded by guard.py (connections, read time) and ``BodyLimit``.
Predictions run in a worker thread, off the event loop, so the server's timers measure
the client.
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint's
# annotations at run time, and the request types are built inside create_app.
import argparse
import asyncio
import contextlib
import ctypes
import difflib
import gc
import json
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

import numpy as np
import pandas as pd
from fastapi import Body, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator
from starlette.requests import ClientDisconnect

from ..core import paths
from ..core.config import Column, Data, Params, load_params
from ..core.errors import DataError, PipelineError, shorten
from ..core.estimators import model_version
from ..core.files import read_json
from ..data.schema import RawSchema
from ..features import normalized
from ..modeling import load_model
from .predict import predict_rows
from .release import Release, add_release_options, fetch_model_file, find_release

# Dates stay text here, as in the CSV: they are parsed the way training parsed them.
PYTHON_TYPES = {"float": float, "int": int, "category": str, "text": str, "date": str}
MAX_TEXT = 1000  # characters in a text, category or date field
MAX_BATCH = 1000  # records predicted in one pass
MAX_BODY_BYTES = 1_000_000  # a request body larger than this gets 413, unread
MAX_RECORDS = 1000  # records in one request
MAX_CONCURRENT = 32  # prediction requests admitted at once; more get 503
RETRY_AFTER_SECONDS = 1
TRIM_AFTER_RECORDS = 20_000  # records predicted before freed memory goes back to the OS
SETTLE_STEPS = 4  # event-loop turns a request takes from its body to the queue


def as_written(value: Any, column: Column, markers: frozenset[str]) -> Any:
    """A value as the raw file would hold it: one of the file's missing-value markers
    ("NA", "") is missing, and text is normalized as clean normalizes it."""
    if isinstance(value, bool) and column.type in ("float", "int"):
        raise ValueError("expected a number, not true or false")  # pydantic would take 1
    if isinstance(value, str) and value in markers:
        return None
    return normalized(value, column.normalize) if column.normalize else value


def field_for(column: Column, markers: frozenset[str] = frozenset()) -> tuple[Any, Any]:
    """A pydantic field for one declared column: its type, bounds and allowed values."""
    kind: Any = PYTHON_TYPES[column.type]
    limits: dict[str, Any] = {"ge": column.min, "le": column.max, "allow_inf_nan": False}
    if kind is str:
        limits = {"max_length": MAX_TEXT}
    if column.allowed is not None:
        kind, limits = Literal[tuple(str(value) for value in column.allowed)], {}
    if not column.required:
        kind = Optional[kind]  # noqa: UP045 - built at run time from the schema
    kind = Annotated[kind, BeforeValidator(partial(as_written, column=column, markers=markers))]
    default = ... if column.required else None
    limits = {name: value for name, value in limits.items() if value is not None}
    return kind, Field(default, alias=column.source, **limits)


class RawRecord(BaseModel):
    """One input row keyed by raw headers. Keys the file has but the model does not read
    (the target, ``unread_columns``) are dropped; any other unknown key is refused, so a
    misspelt column is never silently missing."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)
    unread: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, record: Any) -> Any:
        if not isinstance(record, dict):
            return record
        record = {key: value for key, value in record.items() if key not in cls.unread}
        fields = cls.model_fields.values()
        if not record.keys() & {field.alias for field in fields} and not any(
            field.is_required() for field in fields
        ):
            raise ValueError("no column of the model's data in the record")
        return record


def record_model(data: Data) -> type[RawRecord]:
    """The request model of one raw row of ``data``, its missing-value markers included."""
    markers = frozenset(data.na_values)
    fields = {name: field_for(column, markers) for name, column in data.inputs().items()}
    Record = create_model("Record", __base__=RawRecord, **fields)
    Record.unread = frozenset({data.columns[data.target].source, *data.unread_columns})
    return Record


def explained(errors: list[dict[str, Any]], known: list[str]) -> list[dict[str, Any]]:
    """Errors with an unknown key's message naming the closest declared header."""
    for error in errors:
        if error.get("type") == "extra_forbidden":
            key = str(error["loc"][-1])
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "it is not declared in conf/data/."
            error["msg"] = (
                f"unknown column {key!r}: {hint} A header the raw file has but the model "
                "does not read belongs in unread_columns in conf/data/"
            )
    return errors


def predict_records(
    model: Any, rows: list[dict[str, Any]], schema: RawSchema, params: Params
) -> list[dict]:
    """Validated records (raw headers as keys) through the training code and the model."""
    raw = pd.DataFrame(rows, columns=schema.sources)
    parsed, failures = schema.parse(raw, "request")
    if len(failures):  # a date that does not parse: pydantic only saw text
        raise DataError(schema.describe(failures, raw, "request"))
    _, predictions = predict_rows(model, parsed, params)
    return predictions.to_dict("records")


class Batcher:
    """Predicts the records of requests that arrive together in one pass.

    A request's cost is mostly per call, not per row (building a frame, the pipeline's
    checks), so requests queue while a pass runs and the next pass takes them all. A
    pass runs in one worker thread: the event loop stays free to read, time and refuse
    requests. The queue is bounded by admission (``Admission``). A lone request is
    predicted at once, with no added wait.
    """

    def __init__(self, predict: Callable[[list[dict]], list[dict]]) -> None:
        self.predict = predict
        self.queue: list[tuple[list[dict], asyncio.Future]] = []
        self.worker: Optional[asyncio.Task] = None  # noqa: UP045
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self.since_trim = 0  # records predicted since memory was last given back

    async def submit(self, records: list[dict]) -> list[dict]:
        future = asyncio.get_running_loop().create_future()
        self.queue.append((records, future))
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self.drain())
        return await future

    async def drain(self) -> None:
        await self.predict_queued()
        if self.since_trim >= TRIM_AFTER_RECORDS:  # after a burst, not after each request
            self.since_trim = 0
            await asyncio.get_running_loop().run_in_executor(self.thread, give_back_memory)

    async def predict_queued(self) -> None:
        while self.queue:
            await self.settle()
            batch, size = [], 0
            while self.queue and (not batch or size + len(self.queue[0][0]) <= MAX_BATCH):
                batch.append(self.queue.pop(0))
                size += len(batch[-1][0])
            requests = [rows for rows, _ in batch]
            self.since_trim += size
            try:  # in the worker thread: the loop keeps reading and answering meanwhile
                loop = asyncio.get_running_loop()
                outcomes = await loop.run_in_executor(self.thread, self.outcomes, requests)
            except Exception as error:  # fail these requests, keep serving
                outcomes = [error] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the client went away
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def settle(self) -> None:
        """Let requests that are already being read join the queue before a pass."""
        queued = -1
        while queued != len(self.queue):
            queued = len(self.queue)
            for _ in range(SETTLE_STEPS):
                await asyncio.sleep(0)

    def outcomes(self, requests: list[list[dict]]) -> list[Any]:
        """Each request's predictions; a request with a bad value fails alone."""
        try:
            rows = self.predict([row for request in requests for row in request])
        except PipelineError as error:
            if len(requests) == 1:
                return [error]
            return [outcome for request in requests for outcome in self.outcomes([request])]
        ends = np.cumsum([len(request) for request in requests])
        return [rows[end - len(request) : end] for request, end in zip(requests, ends, strict=True)]


def give_back_memory() -> None:
    """Hand freed heap pages back to the OS: glibc keeps them after a burst of large
    requests otherwise, and the server would stay at its peak. Elsewhere, nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes gets 413 before anything parses it.

    The declared Content-Length is checked first; a body sent without one (chunked) is
    counted as it arrives.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:  # the server reads no more than it declares
            if declared.isdigit() and int(declared) <= self.limit:
                return await self.app(scope, receive, send)
            return await JSONResponse(self.too_large(), status_code=413)(scope, receive, send)
        received = 0

        async def counted() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(status_code=413, detail=self.too_large()["detail"])
            return message

        return await self.app(scope, counted, send)

    def too_large(self) -> dict[str, str]:
        return {"detail": f"request body over {self.limit} bytes: send fewer records per request"}


class Admission:
    """At most ``limit`` requests parsed and predicted at once; one more gets 503 with
    Retry-After at once. Counted from when a request's body has arrived, so a client
    that sends its body slowly holds a connection (bounded by guard.py's timers) but
    never a place here, and cannot keep others out."""

    def __init__(self, limit: int) -> None:
        self.limit, self.active = limit, 0

    def busy(self) -> JSONResponse:
        return JSONResponse(
            {"detail": f"busy: {self.limit} requests in progress; retry shortly"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @contextlib.asynccontextmanager
    async def place(self) -> Any:
        """Yields True while a place is held, False (hold nothing) when all are taken."""
        if self.active >= self.limit:
            yield False
            return
        self.active += 1
        try:
            yield True
        finally:
            self.active -= 1


def own_branch(errors: list[dict[str, Any]], body: Any) -> list[dict[str, Any]]:
    """The errors of the form the body has (one record, or a list of them): pydantic also
    reports why it is not the other form, which only hides the real problem."""
    other = "list[Record]" if isinstance(body, dict) else "Record"
    return [e for e in errors if list(e.get("loc", []))[1:2] != [other]] or errors


def refusal(errors: list[dict[str, Any]]) -> JSONResponse:
    """A 422 whose body can always be serialised and never echoes a long value."""
    detail = [
        {"loc": list(e.get("loc", ["body"])), "msg": str(e.get("msg")), "type": str(e.get("type"))}
        | ({"input": shorten(e["input"])} if "input" in e else {})
        for e in errors
    ]
    return JSONResponse(status_code=422, content={"detail": detail})


class RepeatedKey(ValueError):
    pass


def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict, refusing a key given twice."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise RepeatedKey(key)
        seen[key] = value
    return seen


class NoRepeatedKeys(APIRoute):
    """Refuses a JSON body that gives one key twice: which value counts would be a guess
    (json.loads keeps the last one, silently)."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Any:
            if request.method != "POST":
                return await handler(request)
            try:
                body = await request.body()
            except ClientDisconnect:  # gone, timed out or stopping: guard.py logged why
                return Response(status_code=400)
            admission: Admission = request.app.state.admission
            async with admission.place() as admitted:
                if not admitted:
                    return admission.busy()
                try:
                    parsed = json.loads(body or b"null", object_pairs_hook=no_repeats)
                except RepeatedKey as key:
                    msg = f"{str(key)!r} is given more than once in one record"
                    where = ["body", str(key)]
                    return refusal([{"loc": where, "msg": msg, "type": "repeated_key"}])
                except ValueError:
                    pass  # not JSON: FastAPI's own parsing says so
                else:
                    request._json = parsed  # starlette's cache: FastAPI does not parse again
                return await handler(request)

        return checked


def loaded(release: Release | None) -> tuple[Params, Any, str, dict[str, Any]]:
    """Params, model, model version and metadata: the working tree's, or a release's
    (its version and stage reported in place of the training metadata, kept in DVC)."""
    if release is None:
        params = load_params()
        model, version = load_model(paths.MODEL, params), model_version(paths.MODEL)
        return params, model, version, read_json(paths.METADATA)
    with tempfile.TemporaryDirectory() as folder:
        path = fetch_model_file(release, Path(folder))
        model, version = load_model(path, release.params, release.source), model_version(path)
    served = {"version": release.version, "stage": release.stage, "tag": release.tag}
    return release.params, model, version, served


def create_app(
    max_body_bytes: int = MAX_BODY_BYTES,
    max_records: int = MAX_RECORDS,
    docs: bool = False,
    release: Release | None = None,
    max_concurrent: int = MAX_CONCURRENT,
) -> FastAPI:
    """Load the configuration and the model once (``release``: a registered version's),
    then serve them."""
    params, model, version, metadata = loaded(release)
    served = {} if release is None else {key: metadata[key] for key in ("version", "stage")}
    Record = record_model(params.data)
    Batch = Annotated[list[Record], Field(min_length=1, max_length=max_records)]  # type: ignore[valid-type]
    schema = RawSchema.of(params.data, inputs_only=True)
    batcher = Batcher(lambda rows: predict_records(model, rows, schema, params))
    # No docs pages unless asked for; no redirect built from the client's Host header.
    app = FastAPI(
        title="{{ cookiecutter.project_name }}",
        version=version,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        redirect_slashes=False,
    )
    app.router.route_class = NoRepeatedKeys
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.state.admission = Admission(max_concurrent)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = own_branch(list(error.errors()), getattr(error, "body", None))
        return refusal(explained(errors, schema.sources))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model_version": version, **served}

    @app.get("/metadata")
    def model_metadata() -> dict[str, Any]:
        return {"model_version": version, **metadata}

    @app.post("/predict")
    async def predict(body: Annotated[Union[Record, Batch], Body()]) -> Any:  # type: ignore[valid-type]  # noqa: UP007
        records = body if isinstance(body, list) else [body]
        try:
            rows = await batcher.submit([record.model_dump(by_alias=True) for record in records])
        except PipelineError as error:  # a value the schema refuses beyond pydantic's checks
            return refusal([{"loc": ["body"], "msg": str(error), "type": "schema"}])
        payload = {"model_version": version, **served, "predictions": rows}
        return JSONResponse(content=payload)  # plain JSON types: no encoder pass needed

    return app


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` (to ``high``), refused at parse time."""
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"a whole number {bounds}, not {shorten(text)}")
        return value

    return parse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=whole(1, 65535), default=8000, help="port to listen on")
    parser.add_argument(
        "--max-body-bytes", type=whole(1), default=MAX_BODY_BYTES, help="larger bodies get 413"
    )
    parser.add_argument(
        "--max-records", type=whole(1), default=MAX_RECORDS, help="records allowed per request"
    )
    parser.add_argument(
        "--max-concurrent",
        type=whole(1),
        default=MAX_CONCURRENT,
        help="prediction requests in progress at once; more get 503 with Retry-After",
    )
    parser.add_argument(
        "--idle-seconds",
        type=whole(1),
        help="close a connection with no request under way after this many seconds (5)",
    )
    parser.add_argument(
        "--read-seconds",
        type=whole(1),
        help="answer 408 to a request not fully received this many seconds after it began (10)",
    )
    parser.add_argument(
        "--docs", action="store_true", help="serve /docs, /redoc and /openapi.json (off)"
    )
    add_release_options(parser)
    args = parser.parse_args(argv)
    release = find_release(args.stage, args.version, args.bundle)
    # A bad model, or a stage with no model, stops it here with a message.
    app = create_app(args.max_body_bytes, args.max_records, args.docs, release, args.max_concurrent)
    import uvicorn

    from .guard import SPARE_FILES, GuardedHttp, open_file_limit

    GuardedHttp.max_connections = open_file_limit() - SPARE_FILES
    GuardedHttp.idle_seconds = args.idle_seconds or GuardedHttp.idle_seconds
    GuardedHttp.read_seconds = args.read_seconds or GuardedHttp.read_seconds
    gc.freeze()  # full collections skip all loaded by now: shorter pauses in large requests
    # Open requests get a few seconds to finish after SIGTERM, then the server stops.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        http=GuardedHttp,
        timeout_keep_alive=GuardedHttp.idle_seconds,
        timeout_graceful_shutdown=5,
    )
