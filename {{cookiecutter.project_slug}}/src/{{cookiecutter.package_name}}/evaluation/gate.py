"""The quality gate's limits: how far each test metric may worsen against a base (the
base branch's metrics in a pull request, the champion's in champion/challenger)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.config import Limit
from ..core.errors import ConfigError
from .scoring import metric


@dataclass(frozen=True)
class Verdict:
    metric: str
    base: float | None
    head: float
    rule: str  # for example "may drop by at most 0.01"
    passed: bool
    binding: bool = True  # False: reported, but a failure does not fail the gate

    @property
    def fails_the_gate(self) -> bool:
        return self.binding and not self.passed


def check_limits(
    base: dict[str, Any], head: dict[str, Any], limits: dict[str, Limit], source: str
) -> list[Verdict]:
    """One verdict per limited metric: has it worsened by more than its limit allows?

    A metric the base does not have yet passes; a limit naming a metric the pipeline
    does not write is a configuration error, so a typo cannot switch a check off.
    """
    verdicts = []
    for name, limit in limits.items():
        drop = limit.max_drop is not None
        if drop != metric(name, f"review.limits.{name}", source).higher_is_better:
            wanted = "max_drop" if not drop else "max_rise"
            better = "higher" if not drop else "lower"
            raise ConfigError(
                f"{source}: review.limits.{name}: {better} is better for {name}, so give {wanted}"
            )
        if name not in head:
            raise ConfigError(
                f"{source}: review.limits.{name} names a metric the pipeline does not "
                f"write; reports/metrics.json has {', '.join(sorted(head))}"
            )
        allowance = limit.max_drop if drop else limit.max_rise
        old, new = base.get(name), head[name]
        worsened = 0.0 if old is None else (old - new if drop else new - old)
        if limit.relative and old is not None:
            worsened /= abs(old) or 1.0
        amount = f"{allowance:.1%} of the base" if limit.relative else f"{allowance:g}"
        rule = f"may {'drop' if drop else 'rise'} by at most {amount}"
        verdicts.append(Verdict(name, old, new, rule, worsened <= allowance + 1e-12))
    return verdicts
