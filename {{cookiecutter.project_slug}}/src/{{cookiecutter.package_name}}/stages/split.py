"""Stage 3, split: each row goes to train, validation or test by a seeded hash of its key.

A row keeps its split when new raw data arrives, so a retrained model is still scored on
rows it did not train on; data/splitting.py says how.
"""

from __future__ import annotations

from ..core import paths
from ..core.config import load_params
from ..core.errors import run_main
from ..core.files import read_parquet, write_parquet
from ..data.splitting import DESTINATIONS, split_frame, split_on_cluster


def main() -> None:
    params = load_params()
    if params.compute.engine == "dask":
        rows = split_on_cluster(params)
    else:
        parts = split_frame(read_parquet(paths.FEATURES), params)
        for part, frame in parts.items():
            write_parquet(frame, DESTINATIONS[part])
        rows = {part: len(frame) for part, frame in parts.items()}
    print("split: " + ", ".join(f"{part} {count} rows" for part, count in rows.items()))


if __name__ == "__main__":
    run_main(main)
