"""Batch prediction with exactly the training pipeline's cleaning and features.

New rows go through the same functions as training data (data/): the raw schema
without the target, which new data need not have, tidying and the derived features.
Rows are never dropped: each input row gets a prediction, keyed by its CSV line, with
the version of the model that made it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import paths
from ..core.config import Params, load_params
from ..core.errors import PipelineError
from ..core.estimators import model_inputs, model_version, predict_outputs
from ..core.files import write_parquet
{%- if cookiecutter.task == 'classification' %}
from ..core.paths import file_stem
{%- endif %}
from ..data.blocks import Block, numbered_blocks
from ..data.reading import read_header
from ..data.schema import RawSchema, line_of
from ..features import featurized
from ..modeling import load_model
from .batches import regular_file
from .release import add_release_options, fetch_model_file, find_release


def predict_rows(
    model: Any, parsed: pd.DataFrame, params: Params
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The one way from schema-checked raw rows to predictions: batch, API and monitor.

    The rows are tidied and given the derived features as in training; returns them (as
    the model saw them) and, in their order, the prediction
{%- if cookiecutter.task == 'classification' %} and, when the classifier has
    them, one ``probability_<class>`` column per class
{%- endif %}.
    """
    rows = featurized(parsed, params.data.inputs(), params.features)
{%- if cookiecutter.task == 'classification' %}
    labels, probabilities = predict_outputs(model, model_inputs(rows, params.features))
    predictions = pd.DataFrame({"prediction": labels})
    if probabilities is not None:
        for index, label in enumerate(model.classes_):
            predictions[f"probability_{file_stem(label)}"] = probabilities[:, index]
{%- else %}
    labels = predict_outputs(model, model_inputs(rows, params.features))
    predictions = pd.DataFrame({"prediction": labels})
{%- endif %}
    return rows, predictions


def predict_frame(
    model: Any, raw: pd.DataFrame, schema: RawSchema, params: Params, source: Any, version: str
) -> pd.DataFrame:
    """One row per input row: its CSV line, the prediction{{ ", class probabilities" if cookiecutter.task == "classification" else "" }}, version."""
    _, predictions = predict_rows(model, schema.validate(raw, source), params)
    predictions.insert(0, "line", line_of(raw.index.to_numpy()))
    predictions["model_version"] = version
    return predictions


def predict_block(
    block: Block | None,
    params: Params,
    version: str,
    source: Path,
    model: Path,
    trained_with: object = paths.PARAMS,
) -> pd.DataFrame:
    """Predictions for the whole input file, or for one ``block`` of it (the dask engine).
    ``trained_with`` names the params' file in messages: a release's, or params.yaml."""
    loaded = load_model(model, params, trained_with)  # refused before any row is read
    schema = RawSchema.of(params.data, inputs_only=True)  # new rows need not have the target
    raw = schema.read_text(source, block=block)
    return predict_frame(loaded, raw, schema, params, source, version)


def predict_part(block: Block, params: Params, version: str, model: Path, part: Path) -> int:
    predictions = predict_block(block, params, version, block.path, model)
    predictions.to_parquet(part, index=False)
    return len(predictions)


def predict_on_cluster(
    source: Path, output: Path, params: Params, version: str, model: Path = paths.MODEL
) -> int:
    """Every block of the input predicted on the cluster, into a directory of parts."""
    from ..core.cluster import connect, part_path
    from ..core.files import atomic_path

    read_header(source, params.data.encoding, params.data.delimiter)  # missing or unreadable
    model = Path(model).absolute()
    with connect(params.compute) as client, atomic_path(output, directory=True) as folder:
        blocks = numbered_blocks(client, source, params.compute.partition_bytes)
        futures = [
            client.submit(predict_part, b, params, version, model, part_path(folder, n))
            for n, b in enumerate(blocks)
        ]
        return sum(client.gather(futures))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="CSV in the raw format")
    parser.add_argument(
        "--output",
        type=Path,
        required=True,
        help="Parquet file to write (with the dask engine, a directory of parts)",
    )
    add_release_options(parser)
    args = parser.parse_args(argv)
    if args.output.suffix != ".parquet":
        raise PipelineError(f"--output {args.output}: write predictions to a .parquet file")
    regular_file(args.input)  # a FIFO or a directory is refused before it is opened
    release = find_release(args.stage, args.version, args.bundle)
    with tempfile.TemporaryDirectory() as folder:
        model = paths.MODEL if release is None else fetch_model_file(release, Path(folder))
        params = load_params() if release is None else release.params
        version = model_version(model)
        if params.compute.engine == "dask":
            rows = predict_on_cluster(args.input, args.output, params, version, model)
        else:
            trained_with = paths.PARAMS if release is None else release.source
            predictions = predict_block(None, params, version, args.input, model, trained_with)
            write_parquet(predictions, args.output)
            rows = len(predictions)
    released = "" if release is None else f" ({release.version}, stage {release.stage or '-'})"
    print(f"predict: {rows} rows with model {version}{released} -> {args.output}")
