"""The Dask cluster the row-wise stages run on when ``compute.engine`` is dask.

Only this module imports ``distributed``, and only when the dask engine is chosen, so the
pandas engine never pays for it. Tasks are plain functions of one partition; the stage
gathers their small results (counts, hashes) and decides in this process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from .config import Compute
from .errors import ConfigError, shorten
from .files import atomic_path

SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"
PART_NAME = "part-{:05d}.parquet"  # zero-padded, so parts sort in row order by name


@contextmanager
def connect(compute: Compute) -> Iterator[Any]:
    """A Dask client: to ``compute.scheduler``, to ``$DASK_SCHEDULER_ADDRESS``, or to a
    local cluster on 127.0.0.1 with one single-threaded worker per core."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "params.yaml: compute.engine is dask, but dask is not installed. Install the "
            "extra (`pip install -e '.[dask]'`) or set engine: pandas in conf/compute/."
        ) from None
    address = compute.scheduler or os.environ.get(SCHEDULER_VARIABLE)
    if address:
        try:
            client = Client(address, timeout=compute.connect_timeout_s)  # seconds
        except OSError as error:
            where = "compute.scheduler" if compute.scheduler else SCHEDULER_VARIABLE
            raise ConfigError(
                f"{where}: no Dask scheduler answers at {address} within "
                f"{compute.connect_timeout_s:g} s (compute.connect_timeout_s): {error}"
            ) from None
        with client, environment_errors(address):
            yield client
        return
    cluster = LocalCluster(
        host="127.0.0.1",
        n_workers=os.cpu_count() or 1,
        threads_per_worker=1,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    with cluster, Client(cluster) as client:
        yield client


@contextmanager
def environment_errors(address: str) -> Iterator[None]:
    """A cluster whose scheduler or workers cannot import this package, said plainly."""
    package = __package__.split(".")[0]
    try:
        yield
    except (RuntimeError, ModuleNotFoundError) as error:
        if "deserializ" not in str(error) and package not in str(error):
            raise
        raise ConfigError(
            f"the Dask cluster at {address} cannot run this project's tasks "
            f"({shorten(str(error).splitlines()[0], 100)}). Install this project, at this "
            "version, where its scheduler and workers run."
        ) from None


def parts(directory: Path) -> list[Path]:
    """A partitioned Parquet output's files in row order; a single file is one part."""
    directory = Path(directory).absolute()
    return sorted(directory.glob("*.parquet")) if directory.is_dir() else [directory]


def part_path(directory: Path, number: int) -> Path:
    return Path(directory) / PART_NAME.format(number)


def map_parts(
    compute: Compute,
    task: Callable[..., Any],
    source: Path,
    targets: Sequence[Path],
    *args: Any,
    check: Callable[[list], None] = lambda results: None,
) -> list:
    """``task(part, [its output parts], *args)`` for each part of ``source``, on the cluster.

    Each of ``targets`` becomes a directory holding one output part per input part. The
    targets are replaced only once every task has finished and ``check(results)`` has
    passed, so a failure leaves the old outputs as they were.
    """
    inputs = parts(source)
    with connect(compute) as client, ExitStack() as stack:
        folders = [stack.enter_context(atomic_path(t, directory=True)) for t in targets]
        futures = [
            client.submit(task, part, [part_path(f, n) for f in folders], *args, pure=False)
            for n, part in enumerate(inputs)
        ]
        try:
            results = client.gather(futures)
        finally:
            client.cancel(futures)
        check(results)
        return results
