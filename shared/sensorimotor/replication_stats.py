"""Replication statistics: an estimate with its interval, and the sample size a test needs.

Pure functions over per-unit values (one value per training seed, per test case or per timed repeat):

- :func:`t_interval`: the mean and a two-sided ``level`` Student-t interval over the units;
- :func:`bootstrap_interval`: the mean and a seeded percentile-bootstrap interval (for cases, whose
  distribution may be far from normal);
- :func:`needed_units`: the number of units a one-sided test at the interval's level needs for 90 %
  power to tell an effect of size ``effect`` from zero, given the measured spread.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

import numpy as np
from scipy import stats

POWER = 0.9  # the power a test of the smallest effect is sized for
MAX_UNITS = 100_000  # needed_units stops counting here (reported as "more than")


class StatsError(ValueError):
    """Values or settings an interval or a power calculation cannot use."""


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A mean over ``n`` units with a two-sided interval at ``level``; ``sd`` is the units' spread."""

    value: float
    low: float
    high: float
    n: int
    sd: float | None
    level: float
    method: str

    def __post_init__(self) -> None:
        for name in ("value", "low", "high"):
            if not math.isfinite(getattr(self, name)):
                raise StatsError(f"Estimate.{name}={getattr(self, name)!r} must be finite")
        if not self.low <= self.value <= self.high:
            raise StatsError(f"Estimate: need low <= value <= high, got {self.low} <= {self.value} <= {self.high}")
        if self.n < 1:
            raise StatsError(f"Estimate.n={self.n} must be >= 1")
        _check_level(self.level)


def _check_level(level: float) -> None:
    if not (isinstance(level, float) and 0.5 <= level < 1.0):
        raise StatsError(f"interval level {level!r} must be a float in [0.5, 1)")


def _finite(values: Sequence[float], least: int) -> list[float]:
    numbers = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise StatsError(f"value {value!r} is not a number")
        if not math.isfinite(float(value)):
            raise StatsError(f"value {value!r} is not finite")
        numbers.append(float(value))
    if len(numbers) < least:
        raise StatsError(f"need at least {least} values, got {len(numbers)}")
    return numbers


def t_interval(values: Sequence[float], level: float = 0.9) -> Estimate:
    """Mean and two-sided Student-t interval (``level``) over at least two values."""
    _check_level(level)
    numbers = _finite(values, 2)
    mean, sd, n = statistics.fmean(numbers), statistics.stdev(numbers), len(numbers)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, sd, level, "t")


def bootstrap_interval(values: Sequence[float], level: float = 0.9, resamples: int = 4000, seed: int = 0) -> Estimate:
    """Mean and percentile-bootstrap interval (``level``, ``resamples`` seeded draws) over at least two values."""
    _check_level(level)
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 100:
        raise StatsError(f"resamples={resamples!r} must be an int >= 100")
    numbers = np.asarray(_finite(values, 2))
    rng = np.random.default_rng(seed)
    means = numbers[rng.integers(0, len(numbers), size=(resamples, len(numbers)))].mean(axis=1)
    low, high = np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])
    mean = float(numbers.mean())
    return Estimate(mean, min(float(low), mean), max(float(high), mean), len(numbers), float(numbers.std(ddof=1)),
                    level, "bootstrap")  # fmt: skip


def power(n: int, effect: float, sd: float, level: float = 0.9) -> float:
    """Power of a one-sided one-sample t test at alpha = (1 - level) / 2 to see ``effect`` with ``n`` units."""
    _check_level(level)
    if n < 2:
        return 0.0
    if sd <= 0:
        return 1.0 if effect > 0 else 0.0
    alpha = (1 - level) / 2
    critical = stats.t.ppf(1 - alpha, n - 1)
    return float(1 - stats.nct.cdf(critical, n - 1, effect * math.sqrt(n) / sd))


def needed_units(effect: float, sd: float | None, level: float = 0.9) -> int | None:
    """The fewest units (>= 2) whose one-sided test at the interval's level has :data:`POWER` for ``effect``.

    ``effect`` is the smallest effect that counts, measured from the null in the paper's direction
    (> 0). None when the spread is unknown (fewer than two units); :data:`MAX_UNITS` + 1 when even that
    many would not do.
    """
    if not (math.isfinite(effect) and effect > 0):
        raise StatsError(f"effect {effect!r} must be a finite number > 0")
    if sd is None:
        return None
    if sd <= 0:
        return 2
    guess = max(2, math.ceil(((stats.norm.ppf(1 - (1 - level) / 2) + stats.norm.ppf(POWER)) * sd / effect) ** 2))
    if guess > MAX_UNITS:
        return MAX_UNITS + 1
    n = max(2, guess - 2)
    while power(n, effect, sd, level) < POWER:
        n += 1
        if n > MAX_UNITS:
            return MAX_UNITS + 1
    return n
