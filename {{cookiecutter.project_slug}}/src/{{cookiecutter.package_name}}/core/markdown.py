"""Numbers and tables as the reports, the model card and the drift report print them."""

from __future__ import annotations

from typing import Any

MISSING = "(missing)"  # a missing value, as a slice group, a category or a table cell


def number(value: Any, signed: bool = False) -> str:
    """Six significant digits; ``signed`` for a change; text and booleans as code."""
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"`{value}`"
    if signed:
        return "0" if value == 0 else f"{value:+.6g}"
    return f"{value:.6g}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table; cells are used as given."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
