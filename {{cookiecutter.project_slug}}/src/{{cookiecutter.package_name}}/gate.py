"""The quality gate: how far a pull request may worsen each test metric.

Limits live in ``review.limits`` (conf/review/): ``max_drop`` for a metric where
higher is better, ``max_rise`` where lower is better, both absolute. A metric the
base revision does not have yet passes, with a note; a limit naming a metric the
pipeline does not write is a configuration error, so a typo cannot switch a check off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

DIRECTIONS = {"max_drop": -1, "max_rise": 1}  # the sign of a change that worsens


@dataclass(frozen=True)
class Verdict:
    metric: str
    base: float | None
    head: float
    rule: str  # for example "may drop by at most 0.01"
    passed: bool


def parse_limit(metric: str, limit: Any, source: str) -> tuple[str, float]:
    """The rule's name and allowance, refusing anything but one non-negative number."""
    where = f"{source}: review.limits.{metric}"
    if not isinstance(limit, dict) or len(limit) != 1 or next(iter(limit)) not in DIRECTIONS:
        raise ConfigError(f"{where} must be one of max_drop: <number> or max_rise: <number>")
    ((rule, allowance),) = limit.items()
    if isinstance(allowance, bool) or not isinstance(allowance, (int, float)) or allowance < 0:
        raise ConfigError(f"{where}.{rule} must be a number >= 0, got {allowance!r}")
    return rule, float(allowance)


def check_limits(
    base: dict[str, Any], head: dict[str, Any], limits: dict[str, Any], source: str
) -> list[Verdict]:
    """One verdict per limited metric, comparing the head's test metrics with the base's."""
    verdicts = []
    for metric, limit in (limits or {}).items():
        rule, allowance = parse_limit(metric, limit, source)
        if metric not in head:
            raise ConfigError(
                f"{source}: review.limits.{metric} names a metric the pipeline does not "
                f"write; reports/metrics.json has {', '.join(sorted(head))}"
            )
        words = f"may {'drop' if rule == 'max_drop' else 'rise'} by at most {allowance:g}"
        old, new = base.get(metric), head[metric]
        worsened = 0.0 if old is None else (new - old) * DIRECTIONS[rule]
        verdicts.append(Verdict(metric, old, new, words, worsened <= allowance + 1e-12))
    return verdicts
