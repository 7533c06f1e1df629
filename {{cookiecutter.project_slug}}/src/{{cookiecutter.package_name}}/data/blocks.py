"""A raw CSV cut into byte ranges that end at line ends: the dask engine's partitions.

Each block is parsed on its own, with the header prepended, by the same reader the pandas
engine uses; its ``first_row`` makes the rows' index, and so every CSV line an error
quotes, the same as in a read of the whole file. A block boundary is a line end, so a
quoted value that spans lines is not supported in a blocked read (as in Dask's own
``read_csv``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

READ_CHUNK = 1 << 24  # bytes counted at once


@dataclass(frozen=True)
class Block:
    path: Path
    start: int  # first byte of the block's first row
    end: int  # one past its last byte
    first_row: int = 0  # rows of the file before this block: the index of its first row

    def read(self) -> bytes:
        """The header line, then the block's rows: a CSV file of its own."""
        with self.path.open("rb") as handle:
            header = handle.readline()
            handle.seek(self.start)
            return header + handle.read(self.end - self.start)


def csv_blocks(path: Path, size: int) -> list[Block]:
    """The rows after the header in blocks of about ``size`` bytes, cut at line ends."""
    path = Path(path).absolute()
    total = path.stat().st_size
    blocks = []
    with path.open("rb") as handle:
        handle.readline()
        start = handle.tell()
        while start < total:
            handle.seek(min(start + size, total))
            handle.readline()  # on to the end of the line the cut falls in
            end = min(handle.tell(), total)
            blocks.append(Block(path, start, end))
            start = end
    return blocks


def count_lines(block: Block) -> int:
    """Lines in the block; a last line without a line end counts too."""
    lines, last = 0, b"\n"
    with block.path.open("rb") as handle:
        handle.seek(block.start)
        remaining = block.end - block.start
        while remaining > 0 and (chunk := handle.read(min(READ_CHUNK, remaining))):
            lines += chunk.count(b"\n")
            remaining -= len(chunk)
            last = chunk[-1:]
    return lines + (last != b"\n")


def numbered(blocks: list[Block], lines: list[int]) -> list[Block]:
    """The blocks with ``first_row`` set from the line counts of the blocks before them."""
    result, before = [], 0
    for block, count in zip(blocks, lines, strict=True):
        result.append(replace(block, first_row=before))
        before += count
    return result


def numbered_blocks(client: Any, path: Path, size: int) -> list[Block]:
    """The file's blocks of about ``size`` bytes, their lines counted on the cluster."""
    blocks = csv_blocks(path, size)
    return numbered(blocks, client.gather(client.map(count_lines, blocks)))
