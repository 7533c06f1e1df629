"""Numbers, tables and charts as the reports, the model card and the drift report print
them in Markdown."""

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


def mermaid_text(text: object, limit: int = 30) -> str:
    """``text`` as a quoted Mermaid string: no double quotes inside, at most ``limit`` long."""
    cleaned = " ".join(str(text).replace('"', "'").split())
    return '"' + (cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…") + '"'


def bar_chart(
    title: str,
    labels: list[str],
    bars: list[float],
    line: list[float] | None = None,
    horizontal: bool = False,
    y_range: tuple[float, float] | None = None,
) -> str:
    """A Mermaid XY chart: ``bars``, with ``line`` drawn over them, one value per label.

    GitHub draws Mermaid blocks in Markdown itself, so the chart needs no image host.
    """
    values = [*bars, *(line or [])]
    low, high = y_range or (min(0.0, *values), max(values))
    lines = [
        "```mermaid",
        "xychart-beta" + (" horizontal" if horizontal else ""),
        f"    title {mermaid_text(title, 80)}",
        f"    x-axis [{', '.join(mermaid_text(label) for label in labels)}]",
        f"    y-axis {low:.6g} --> {high if high > low else low + 1:.6g}",
        f"    bar [{', '.join(f'{value:.6g}' for value in bars)}]",
    ]
    if line is not None:
        lines.append(f"    line [{', '.join(f'{value:.6g}' for value in line)}]")
    return "\n".join([*lines, "```"])
