"""Online prediction: a FastAPI app over the same model and code path as batch prediction.

``POST /predict`` takes one record or a list, keyed by the raw data's column names
(the CSV headers declared in conf/data/); ``GET /health``; ``GET /metadata`` (model
version, training data hash, metrics). The request model is derived from the schema,
so a bad request gets 422 with an error per field, never a stack trace.
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint's
# annotations at run time, and the request types are built inside create_app.
import argparse
from typing import Annotated, Any, Literal, Optional, Union

import pandas as pd
from fastapi import Body, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from ..core import paths
from ..core.config import Column, load_params
from ..core.errors import PipelineError
from ..core.files import read_json
from ..modeling import load_model, model_version
from .predict import predict_frame

# Dates stay text here, as in the CSV: the schema parses them the way training did.
PYTHON_TYPES = {"float": float, "int": int, "category": str, "text": str, "date": str}


def field_for(column: Column) -> tuple[Any, Any]:
    """A pydantic field for one declared column: its type, bounds and allowed values."""
    kind: Any = PYTHON_TYPES[column.type]
    if column.allowed is not None and not column.normalize:  # else checked once normalized
        kind = Literal[tuple(str(value) for value in column.allowed)]
    if not column.required:
        kind = Optional[kind]  # noqa: UP045 - built at run time from the schema
    bounds = {"ge": column.min, "le": column.max} if column.type in ("float", "int") else {}
    default = ... if column.required else None
    return kind, Field(
        default, alias=column.source, **{k: v for k, v in bounds.items() if v is not None}
    )


def record_model(columns: dict[str, Column]) -> type[BaseModel]:
    """One input row as the raw data has it; columns the schema does not use are ignored."""
    fields = {name: field_for(column) for name, column in columns.items()}
    config = ConfigDict(extra="ignore", populate_by_name=False)
    return create_model("Record", __config__=config, **fields)


def to_frame(records: list[BaseModel]) -> pd.DataFrame:
    """Validated records as a raw frame: CSV headers as columns, as text like the CSV."""
    rows = [record.model_dump(by_alias=True) for record in records]
    return pd.DataFrame(rows).astype(object).map(lambda v: None if pd.isna(v) else str(v))


def create_app() -> FastAPI:
    """Load the configuration and the model once, then serve them."""
    params = load_params()
    model = load_model(paths.MODEL)
    version = model_version(paths.MODEL)
    metadata = read_json(paths.METADATA)
    Record = record_model(params.data.inputs())
    Batch = Annotated[list[Record], Field(min_length=1)]  # type: ignore[valid-type]
    app = FastAPI(title="{{ cookiecutter.project_name }}", version=version)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model_version": version}

    @app.get("/metadata")
    def model_metadata() -> dict[str, Any]:
        return {"model_version": version, **metadata}

    @app.post("/predict")
    def predict(body: Annotated[Union[Record, Batch], Body()]) -> Any:  # type: ignore[valid-type]  # noqa: UP007
        records = body if isinstance(body, list) else [body]
        try:
            predictions = predict_frame(model, to_frame(records), params, "request", version)
        except PipelineError as error:  # a value the schema refuses beyond pydantic's checks
            detail = [{"loc": ["body"], "msg": str(error), "type": "schema"}]
            return JSONResponse(status_code=422, content={"detail": detail})
        rows = predictions.drop(columns=["line", "model_version"]).to_dict("records")
        return {"model_version": version, "predictions": rows}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    args = parser.parse_args(argv)
    create_app()  # refuse a missing model or bad params here, with a clean message
    import uvicorn

    uvicorn.run(f"{__name__}:create_app", factory=True, host=args.host, port=args.port)
