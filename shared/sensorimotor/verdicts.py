"""Verdicts by replication statistics: an interval against the null and the smallest effect that counts.

A chapter's ``config.py`` declares, before the run, one :class:`Rule` per claim:

- an :class:`Effect`: the *null* (what a trivial answer scores: chance, the mean, no difference), the
  paper's value on our measure, and the *smallest effect that counts* as the paper's (by default 75 %
  of the paper's distance from the null), with the interval that judges it (90 % Student-t over seeds,
  percentile bootstrap over cases, or an exact deterministic value);
- its checks, never computed from the claim's own value: :class:`Apparatus` (the instrument reads
  known answers: a positive control that has the effect passes the bar, a negative control that has
  not fails it, both measured in the run) and :class:`Prerequisite` (a capability the claim rests on,
  with a reference that passes the bar, so the check is reachable).

The verdict (:func:`judge`), in this order:

1. ``not run``: no value;
2. ``inconclusive``: a check is defective (its reference fails it, or its negative control passes it),
   an apparatus check fails, or a prerequisite fails, with that cause;
3. ``reproduced``: the interval excludes the null and the estimate reaches the smallest effect;
4. ``partly``: the interval excludes the null, the estimate falls short of the smallest effect;
5. ``not reproduced``: the interval excludes the smallest effect;
6. ``inconclusive`` (underpowered): none of these, with the number of units a test with 90 % power for
   the smallest effect would need, from the measured spread. A single seed is not a result.

Each verdict carries one short line saying why. Stored claims (schema 2) keep their per-unit values,
check readings and rule, so :func:`recompute` re-derives each verdict from the report alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import math
from collections.abc import Mapping
from typing import Any, Literal

from sensorimotor.replication_stats import Estimate, StatsError, bootstrap_interval, needed_units, t_interval

SCHEMA = 2
Verdict = Literal["reproduced", "partly", "not reproduced", "inconclusive", "not run"]
VERDICTS: tuple[Verdict, ...] = ("reproduced", "partly", "not reproduced", "inconclusive", "not run")
Unit = Literal["seeds", "cases", "repeats", "exact"]
UNITS: tuple[Unit, ...] = ("seeds", "cases", "repeats", "exact")
INTERVALS = ("t", "bootstrap")
KINDS = ("result", "consistency")
OVER = ("every", "mean")
COLOURS = {
    "reproduced": "#2e7d32",
    "partly": "#ef6c00",
    "not reproduced": "#c62828",
    "inconclusive": "#6a1b9a",
    "not run": "#616161",
}
UNIT_SINGULAR = {"seeds": "seed", "cases": "case", "repeats": "repeat", "exact": "value"}


class VerdictError(ValueError):
    """A rule, reading or stored claim that cannot be judged as declared."""


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise VerdictError(f"{name}={value!r} must be a finite number")
    return float(value)


def _plain(value: Any) -> Any:
    """numpy / torch scalars -> Python scalars (reports hold strict JSON)."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    return value


def per_unit(values: Any) -> dict[str, float]:
    """One number or a mapping label -> number as ``{label: float}`` (a single number is unit "0")."""
    if isinstance(values, Mapping):
        items = values.items()
    else:
        items = [("0", values)]
    out = {}
    for label, value in items:
        out[str(label)] = _finite(f"value of {label!r}", _plain(value))
    if not out:
        raise VerdictError("no values measured")
    return out


# --- declarations -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Effect:
    """The claim's value against ``null`` (a trivial answer) and the smallest effect that counts.

    ``paper`` is the paper's value on our measure (None where the paper gives no number; then
    ``smallest`` must be given). ``smallest`` defaults to ``null + 0.75 * (paper - null)``. ``unit``
    says what one value is (a training seed, a test case, a timed repeat; ``exact`` for a deterministic
    quantity that has no spread); ``interval`` how the ``level`` interval is formed over the units.
    """

    null: float
    paper: float | None = None
    smallest: float | None = None
    unit: Unit = "seeds"
    interval: str = "t"
    level: float = 0.9
    null_text: str = "no effect"

    def __post_init__(self) -> None:
        _finite("Effect.null", self.null)
        if self.paper is not None:
            _finite("Effect.paper", self.paper)
        if self.smallest is None:
            if self.paper is None:
                raise VerdictError("Effect needs the paper's value or an explicit smallest effect")
            object.__setattr__(self, "smallest", self.null + 0.75 * (self.paper - self.null))
        _finite("Effect.smallest", self.smallest)
        if self.smallest == self.null:
            raise VerdictError(f"Effect: the smallest effect {self.smallest} equals the null: nothing to tell apart")
        if self.paper is not None and (self.paper - self.null) * (self.smallest - self.null) <= 0:
            raise VerdictError(f"Effect: paper {self.paper} and smallest {self.smallest} lie on opposite sides of the null")
        if self.unit not in UNITS:
            raise VerdictError(f"Effect.unit={self.unit!r}; accepted: {', '.join(UNITS)}")
        if self.interval not in INTERVALS:
            raise VerdictError(f"Effect.interval={self.interval!r}; accepted: {', '.join(INTERVALS)}")
        if not (isinstance(self.level, float) and 0.5 <= self.level < 1):
            raise VerdictError(f"Effect.level={self.level!r} must be a float in [0.5, 1)")

    @property
    def direction(self) -> int:
        """+1 when the paper's effect is above the null, -1 when below."""
        return 1 if self.smallest > self.null else -1

    def describe(self) -> str:
        if self.unit == "exact":
            how = "the exact value"
        else:
            how = f"{self.level:.0%} {'t' if self.interval == 't' else 'bootstrap'} interval over {self.unit}"
        side = ">" if self.direction > 0 else "<"
        return (f"{how}: excludes the null {self.null:g} ({self.null_text}) and the estimate {side}= "
                f"{self.smallest:.3g} (smallest effect)")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Bar:
    """A threshold a check's values must meet: ``>= threshold`` (``above``) or ``<=``, in every unit or
    for their mean."""

    threshold: float
    above: bool = True
    over: str = "every"

    def __post_init__(self) -> None:
        _finite("Bar.threshold", self.threshold)
        if self.over not in OVER:
            raise VerdictError(f"Bar.over={self.over!r}; accepted: {', '.join(OVER)}")

    def holds(self, values: Mapping[str, float]) -> bool:
        numbers = list(values.values())
        if self.over == "mean":
            numbers = [sum(numbers) / len(numbers)]
        return all((v >= self.threshold) if self.above else (v <= self.threshold) for v in numbers)

    def describe(self) -> str:
        where = " in every unit" if self.over == "every" else " (mean)"
        return f"{'≥' if self.above else '≤'} {self.threshold:g}{where}"


@dataclasses.dataclass(frozen=True)
class Apparatus:
    """The instrument reads known answers: ``bar`` holds on the ``positive`` control, fails on the
    ``negative`` one (both described in words, both measured in the run)."""

    bar: Bar
    positive: str
    negative: str


@dataclasses.dataclass(frozen=True)
class Prerequisite:
    """A capability the claim rests on: ``bar`` must hold on the model's values. ``reference`` names what
    passes it (measured in the run or cited), which shows the check is reachable; ``failing_reference``
    (optional) names what fails it."""

    bar: Bar
    reference: str
    failing_reference: str | None = None


Check = Apparatus | Prerequisite


@dataclasses.dataclass(frozen=True)
class Budget:
    """What a trained claim's models saw against the paper's (optimiser steps, samples, epochs)."""

    ours: float
    paper: float
    unit: str

    def __post_init__(self) -> None:
        if _finite("Budget.ours", self.ours) < 0 or _finite("Budget.paper", self.paper) <= 0:
            raise VerdictError(f"Budget needs ours >= 0 and paper > 0, got {self.ours}, {self.paper}")

    @property
    def fraction(self) -> float:
        return self.ours / self.paper

    def to_dict(self) -> dict[str, Any]:
        return {"ours": self.ours, "paper": self.paper, "unit": self.unit, "fraction": self.fraction}

    def describe(self) -> str:
        return f"{self.ours:.3g} of the paper's {self.paper:.3g} {self.unit} ({self.fraction:.2g} of its budget)"


def _check_spec(check: Check) -> dict[str, Any]:
    return {"type": type(check).__name__, **dataclasses.asdict(check)}


def _check_from_spec(spec: Mapping[str, Any]) -> Check:
    spec = dict(spec)
    kind = spec.pop("type", None)
    types = {"Apparatus": Apparatus, "Prerequisite": Prerequisite}
    if kind not in types:
        raise VerdictError(f"unknown check type {kind!r}; accepted: {', '.join(types)}")
    spec["bar"] = Bar(**spec["bar"])
    return types[kind](**spec)


@dataclasses.dataclass(frozen=True)
class Rule:
    """How one claim is judged: its :class:`Effect`, its checks by name, and whether it is a result or a
    consistency check (ours, not the paper's: true by construction, or a control we measure; shown apart,
    never counted)."""

    effect: Effect
    checks: Mapping[str, Check] = dataclasses.field(default_factory=dict)
    kind: str = "result"

    def __post_init__(self) -> None:
        if not isinstance(self.effect, Effect):
            raise VerdictError(f"Rule needs an Effect, got {self.effect!r}")
        if self.kind not in KINDS:
            raise VerdictError(f"Rule.kind={self.kind!r}; accepted: {', '.join(KINDS)}")
        for name, check in self.checks.items():
            if not name or not isinstance(check, (Apparatus, Prerequisite)):
                raise VerdictError(f"check {name!r} needs a name and an Apparatus or Prerequisite, got {check!r}")
        object.__setattr__(self, "checks", dict(self.checks))

    def to_spec(self) -> dict[str, Any]:
        return {
            "type": "replication",
            "effect": dataclasses.asdict(self.effect),
            "checks": {name: _check_spec(c) for name, c in self.checks.items()},
            "kind": self.kind,
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Rule:
        if spec.get("type") != "replication":
            raise VerdictError(f"not a replication rule: {spec.get('type')!r}")
        return cls(Effect(**spec["effect"]), {n: _check_from_spec(c) for n, c in spec["checks"].items()}, spec["kind"])


def spec_sha256(spec: Mapping[str, Any]) -> str:
    """The hash a rule is registered under: canonical JSON of its spec."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --- readings and the verdict -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, init=False)
class Controls:
    """An apparatus check's reading: the instrument on its positive and its negative control."""

    positive: dict[str, float]
    negative: dict[str, float]

    def __init__(self, positive: Any, negative: Any) -> None:
        object.__setattr__(self, "positive", per_unit(positive))
        object.__setattr__(self, "negative", per_unit(negative))


@dataclasses.dataclass(frozen=True, init=False)
class Capability:
    """A prerequisite's reading: the model's values, the reference that should pass (``cited`` when it is
    quoted rather than measured in the run) and, optionally, one that should fail."""

    model: dict[str, float]
    reference: dict[str, float]
    failing_reference: dict[str, float] | None
    cited: bool

    def __init__(self, model: Any, reference: Any, failing_reference: Any = None, cited: bool = False) -> None:
        object.__setattr__(self, "model", per_unit(model))
        object.__setattr__(self, "reference", per_unit(reference))
        object.__setattr__(self, "failing_reference", None if failing_reference is None else per_unit(failing_reference))
        object.__setattr__(self, "cited", bool(cited))


Reading = Controls | Capability


def _reading_to_dict(reading: Reading) -> dict[str, Any]:
    return {"type": type(reading).__name__, **dataclasses.asdict(reading)}


def _reading_from_dict(data: Mapping[str, Any]) -> Reading:
    data = dict(data)
    kind = data.pop("type", None)
    if kind == "Controls":
        return Controls(**data)
    if kind == "Capability":
        return Capability(**data)
    raise VerdictError(f"unknown check reading {kind!r}; accepted: Controls, Capability")


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One check's outcome: ``status`` passed / failed / defective, and a short phrase."""

    status: str
    text: str


def check_result(name: str, check: Check, reading: Reading) -> CheckResult:
    """Apply one declared check to its reading."""
    fmt = _values_text
    if isinstance(check, Apparatus):
        if not isinstance(reading, Controls):
            raise VerdictError(f"apparatus check {name!r} needs a Controls reading, got {type(reading).__name__}")
        positive, negative = check.bar.holds(reading.positive), check.bar.holds(reading.negative)
        text = (f"{name}: positive control ({check.positive}) {fmt(reading.positive)}, negative control "
                f"({check.negative}) {fmt(reading.negative)}; needs {check.bar.describe()} on the positive only")  # fmt: skip
        if negative:
            return CheckResult("defective", text)
        return CheckResult("passed" if positive else "failed", text)
    if not isinstance(reading, Capability):
        raise VerdictError(f"prerequisite {name!r} needs a Capability reading, got {type(reading).__name__}")
    text = f"{name}: model {fmt(reading.model)}, {check.reference} {fmt(reading.reference)}"
    if check.failing_reference and reading.failing_reference is not None:
        text += f", {check.failing_reference} {fmt(reading.failing_reference)}"
    text += f"; needs {check.bar.describe()}"
    reachable = check.bar.holds(reading.reference)
    can_fail = reading.failing_reference is None or not check.bar.holds(reading.failing_reference)
    if not (reachable and can_fail):
        return CheckResult("defective", text)
    return CheckResult("passed" if check.bar.holds(reading.model) else "failed", text)


def _values_text(values: Mapping[str, float]) -> str:
    numbers = list(values.values())
    if len(numbers) == 1:
        return f"{numbers[0]:.3g}"
    return f"{min(numbers):.3g}..{max(numbers):.3g} over {len(numbers)}"


@dataclasses.dataclass(frozen=True)
class Judgement:
    """A verdict, its one-line cause, the estimate it rests on and the units a 90 %-power test needs."""

    verdict: Verdict
    cause: str
    estimate: Estimate | None
    needed_n: int | None
    checks: dict[str, CheckResult]


def estimate_of(effect: Effect, ours: Any) -> Estimate | None:
    """The estimate and interval of a claim's value: from per-unit values, or a given :class:`Estimate`."""
    if ours is None:
        return None
    if isinstance(ours, Estimate):
        return ours
    values = per_unit(ours)
    numbers = list(values.values())
    if effect.unit == "exact":
        if len(numbers) != 1:
            raise VerdictError(f"an exact effect takes one value, got {len(numbers)}")
        return Estimate(numbers[0], numbers[0], numbers[0], 1, None, effect.level, "exact")
    if len(numbers) < 2:
        return Estimate(numbers[0], numbers[0], numbers[0], 1, None, effect.level, "single")
    if effect.interval == "bootstrap":
        return bootstrap_interval(numbers, effect.level)
    return t_interval(numbers, effect.level)


def decide(effect: Effect, estimate: Estimate) -> tuple[Verdict, str, int | None]:
    """The interval decision (no checks): verdict, one-line cause, units a 90 %-power test needs."""
    d = effect.direction
    low, high = sorted((d * (estimate.low - effect.null), d * (estimate.high - effect.null)))
    value, smallest = d * (estimate.value - effect.null), d * (effect.smallest - effect.null)
    one = UNIT_SINGULAR[effect.unit]
    if estimate.method == "single":
        return "inconclusive", f"underpowered: 1 {one} measured; a single {one} is not a result", None
    if low > 0 and value >= smallest:
        return "reproduced", "the interval excludes the null and the estimate reaches the smallest effect", None
    if low > 0:
        return "partly", "a smaller effect: the interval excludes the null, the estimate falls short of the smallest effect", None
    if high < smallest:
        return "not reproduced", "the interval excludes the smallest effect that counts", None
    needed = needed_units(smallest, estimate.sd, effect.level)
    unit = effect.unit if effect.unit != "exact" else "values"
    if needed is None:
        return "inconclusive", f"underpowered: the spread is unknown ({estimate.n} {unit})", None
    return "inconclusive", f"underpowered: a 90%-power test needs {needed} {unit} ({estimate.n} measured)", needed


ONE_CHECK_LEADS = ("apparatus failed", "prerequisite failed", "check defective")  # the cause names the check
COUNTED_CHECK_LEADS = ("apparatus checks", "prerequisites", "checks")  # the cause counts several


def is_check_cause(cause: str) -> bool:
    """Whether a verdict's cause is a failed or defective check (not the interval's)."""
    return cause.startswith(ONE_CHECK_LEADS + COUNTED_CHECK_LEADS)


def counts_checks(cause: str) -> bool:
    """Whether a verdict's cause counts several failed or defective checks (rather than naming one)."""
    return cause.startswith(COUNTED_CHECK_LEADS)


def check_kind(check: Check) -> str:
    return "apparatus" if isinstance(check, Apparatus) else "prerequisite"


def failing_cause(rule: Rule, failing: list[str], status: str) -> str:
    """The cause of an inconclusive verdict from its ``failing`` checks (``status`` failed or defective):
    one check is named; several are counted by kind (a verdict cell is one line; the claim's box lists
    each check with its reading)."""
    if len(failing) == 1:
        name = failing[0]
        return f"check defective: {name}" if status == "defective" else f"{check_kind(rule.checks[name])} failed: {name}"
    plural = {"apparatus": "apparatus checks", "prerequisite": "prerequisites"}
    singular = {"apparatus": "apparatus check", "prerequisite": "prerequisite"}
    counts: dict[str, int] = {}
    for name in failing:
        counts[check_kind(rule.checks[name])] = counts.get(check_kind(rule.checks[name]), 0) + 1
    of = f"{len(failing)} of {len(rule.checks)} checks"
    if len(counts) == 1:
        return f"{plural[next(iter(counts))]} {status}: {of} (readings in the claim's box)"
    kinds = ", ".join(f"{n} {plural[k] if n > 1 else singular[k]}" for k, n in sorted(counts.items()))
    return f"checks {status}: {of} ({kinds}; readings in the claim's box)"


def judge(rule: Rule, ours: Any, readings: Mapping[str, Reading]) -> Judgement:
    """The verdict a rule gives to a claim's value and its checks' readings."""
    if set(readings) != set(rule.checks):
        raise VerdictError(f"readings {sorted(readings)} differ from the rule's checks {sorted(rule.checks)}")
    results = {name: check_result(name, rule.checks[name], readings[name]) for name in rule.checks}
    try:
        estimate = estimate_of(rule.effect, ours)
    except StatsError as error:
        raise VerdictError(str(error)) from error
    if estimate is None:
        return Judgement("not run", "not measured", None, None, results)
    for status in ("defective", "failed"):
        failing = sorted(name for name, result in results.items() if result.status == status)
        if failing:
            return Judgement("inconclusive", failing_cause(rule, failing, status), estimate, None, results)
    verdict, cause, needed = decide(rule.effect, estimate)
    return Judgement(verdict, cause, estimate, needed, results)


# --- claims -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of a paper, our measurement, and the verdict its declared :class:`Rule` gives.

    ``ours`` is a number, a mapping unit label -> number (seeds, cases, repeats), a given
    :class:`~sensorimotor.replication_stats.Estimate`, or None when not measured. ``checks`` holds a
    reading for each check the rule declares (exactly those). ``section`` is the MyST label of the
    chapter section that tests the claim.
    """

    id: str
    source: str
    statement: str
    paper: Any
    ours: Any
    rule: Rule
    checks: Mapping[str, Reading] = dataclasses.field(default_factory=dict)
    section: str | None = None
    budget: Budget | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rule, Rule):
            raise VerdictError(f"claim {self.id}: needs a verdicts.Rule, got {self.rule!r}")
        if set(self.checks) != set(self.rule.checks):
            raise VerdictError(
                f"claim {self.id}: measured checks {sorted(self.checks)} differ from the checks its rule declares "
                f"{sorted(self.rule.checks)}"
            )

    def judgement(self) -> Judgement:
        return judge(self.rule, self.ours, self.checks)

    def to_dict(self, amendments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        j = self.judgement()
        effect = self.rule.effect
        units = None if self.ours is None or isinstance(self.ours, Estimate) else per_unit(self.ours)
        est = j.estimate
        return {
            "schema": SCHEMA,
            "id": self.id,
            "source": self.source,
            "statement": self.statement,
            "paper": _plain(self.paper),
            "ours": None if est is None else est.value,
            "given_estimate": dataclasses.asdict(self.ours) if isinstance(self.ours, Estimate) else None,
            "per_unit": units,
            "unit": effect.unit,
            "n": None if est is None else est.n,
            "interval": None if est is None or est.method in ("single",) else [est.low, est.high],
            "level": effect.level,
            "null": effect.null,
            "smallest_effect": effect.smallest,
            "paper_effect": effect.paper,
            "criterion": effect.describe(),
            "rule": self.rule.to_spec(),
            "checks": {
                name: {
                    "kind": "apparatus" if isinstance(self.rule.checks[name], Apparatus) else "prerequisite",
                    "status": j.checks[name].status,
                    "text": j.checks[name].text,
                    "reading": _reading_to_dict(self.checks[name]),
                }
                for name in self.rule.checks
            },
            "verdict": j.verdict,
            "cause": j.cause,
            "needed_n": j.needed_n,
            "budget": None if self.budget is None else self.budget.to_dict(),
            "kind": self.rule.kind,
            "section": self.section,
            "note": self.note,
            "amendments": list(amendments or []),
        }


def recompute(row: Mapping[str, Any]) -> Judgement:
    """The judgement a stored schema-2 claim's values, readings and rule give, recomputed."""
    if row.get("schema") != SCHEMA:
        raise VerdictError(f"claim {row.get('id')!r} is not a schema-{SCHEMA} claim")
    rule = Rule.from_spec(row["rule"])
    if row.get("given_estimate") is not None:
        ours: Any = Estimate(**row["given_estimate"])
    else:
        ours = row["per_unit"]
    readings = {name: _reading_from_dict(c["reading"]) for name, c in row["checks"].items()}
    return judge(rule, ours, readings)


def stored_problems(row: Mapping[str, Any]) -> list[str]:
    """Why a stored schema-2 claim does not say what its values and rule give (empty when it does)."""
    try:
        j = recompute(row)
    except (VerdictError, StatsError, KeyError, TypeError) as error:
        return [f"claim {row.get('id')!r} cannot be re-judged: {error}"]
    if j.verdict != row["verdict"]:
        return [f"claim {row['id']}: stored verdict {row['verdict']!r}, its values and rule give {j.verdict!r}"]
    if j.cause != row["cause"]:
        return [f"claim {row['id']}: stored cause {row['cause']!r}, its values and rule give {j.cause!r}"]
    return []


# --- rendering ----------------------------------------------------------------------------------------


def format_number(value: Any) -> str:
    """A value to 3 significant digits (below 1e-12 in size: 0, the rounding error of a mean of equal
    values); text as is; None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) >= 1e-12 else "0"
    return str(value)


def ours_text(row: Mapping[str, Any]) -> str:
    """Estimate with interval and unit count: '0.83 [0.79, 0.87] (3 seeds)'."""
    text = format_number(row["ours"])
    if row.get("interval"):
        low, high = row["interval"]
        text += f" [{format_number(low)}, {format_number(high)}]"
    if row.get("n") and row.get("unit") != "exact":
        unit = row["unit"] if row["n"] != 1 else UNIT_SINGULAR[row["unit"]]
        text += f" ({row['n']} {unit})"
    return text


def badge_html(verdict: str) -> str:
    colour = COLOURS[verdict]
    return (f'<span style="background:{colour};color:white;padding:0 0.4em;border-radius:3px;'
            f'white-space:nowrap;font-weight:bold">{html.escape(verdict)}</span>')  # fmt: skip


def anchor(claim_id: str) -> str:
    """The HTML id of a claim's verdict box."""
    return "verdict-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in claim_id)


def _amendment_lines(row: Mapping[str, Any]) -> list[str]:
    lines = []
    for a in row.get("amendments") or []:
        under = a.get("verdict_under_original") or a.get("verdict_then")
        lines.append(f"amended {a['date']}: {a['old']} → {a['new']} ({a['why']}; known then: {a['known']})"
                     + (f"; the original rule gives: {under}" if under else ""))  # fmt: skip
    return lines


def _details_summary(row: Mapping[str, Any]) -> str:
    """One line saying what the box's dropdown holds: check marks, the budget, the rule's history."""
    bits = []
    checks = list((row.get("checks") or {}).values())
    if checks:
        counts = {s: sum(c["status"] == s for c in checks) for s in ("passed", "failed", "defective")}
        bits.append("checks " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if row.get("budget"):
        bits.append(f"budget {row['budget']['fraction']:.2g} of the paper's")
    amended = row.get("amendments") or []
    if amended:
        last = amended[-1]
        under = last.get("verdict_under_original") or last.get("verdict_then")
        bits.append(f"rule amended {len(amended)} time{'s' if len(amended) > 1 else ''}"
                    + (f" (before the last amendment: {under})" if under else ""))  # fmt: skip
    if row.get("note"):
        bits.append("note")
    return "; ".join(bits)


def verdict_box_html(row: Mapping[str, Any]) -> str:
    """The verdict box closing a claim's section: answer first, then the numbers; checks, budget and the
    rule's history in a dropdown whose one-line summary counts them (and names the earlier verdict)."""
    e = html.escape
    parts = [f'<div class="sensorimotor-verdict" id="{anchor(row["id"])}" style="border-left:6px solid '
             f'{COLOURS[row["verdict"]]};padding:0.4em 0.8em;margin:0.6em 0;background:#f7f7f7">',
             f"{badge_html(row['verdict'])} <strong>{e(row['id'])}</strong>: {e(row['cause'])}<br>",
             f"<small>{e(row['source'])}: {e(row['statement'])}</small><br>",
             f"paper: {e(format_number(row['paper']))} · ours: {e(ours_text(row))} · null {e(format_number(row['null']))}"
             f" · smallest effect {e(format_number(row['smallest_effect']))}<br>",
             f"<small>rule: {e(row['criterion'])}</small>"]  # fmt: skip
    if row.get("kind") == "consistency":
        parts.append("<br><small>consistency check (ours, not the paper's): not counted as a result</small>")
    details = []
    for check in (row.get("checks") or {}).values():
        mark = {"passed": "✓", "failed": "✗", "defective": "⚠"}[check["status"]]
        details.append(f"<small>{mark} {e(check['kind'])} check {e(check['text'])}</small>")
    if row.get("budget"):
        b = row["budget"]
        details.append(f"<small>budget: {e(format_number(b['ours']))} of the paper's {e(format_number(b['paper']))} "
                       f"{e(b['unit'])} ({b['fraction']:.2g})</small>")  # fmt: skip
    details += [f"<small>{e(line)}</small>" for line in _amendment_lines(row)]
    if row.get("note"):
        details.append(f"<small>{e(row['note'])}</small>")
    if details:
        parts.append(f"<details><summary><small>{e(_details_summary(row))}</small></summary>"
                     + "<br>".join(details) + "</details>")  # fmt: skip
    parts.append("</div>")
    return "".join(parts)


def glance_html(rows: list[Mapping[str, Any]]) -> str:
    """The verdicts at a glance: each claim's badge and one-line reason, linked to its verdict box."""
    e = html.escape
    out = ['<table class="sensorimotor-glance" style="width:100%;font-size:90%"><thead><tr><th>verdict</th>'
           "<th>claim</th><th>paper</th><th>ours</th><th>why</th></tr></thead><tbody>"]  # fmt: skip
    for kind in KINDS:
        group = [r for r in rows if r.get("kind") == kind]
        if group and kind == "consistency":
            out.append('<tr><td colspan="5"><em>Consistency checks (ours, not the paper\'s; not counted)</em></td></tr>')
        for row in group:
            out.append(f"<tr><td>{badge_html(row['verdict'])}</td><td><a href=\"#{anchor(row['id'])}\">{e(row['id'])}</a>"
                       f"<br><small>{e(row['statement'])}</small></td><td>{e(format_number(row['paper']))}</td>"
                       f"<td>{e(ours_text(row))}</td><td><small>{e(row['cause'])}</small></td></tr>")  # fmt: skip
    out.append("</tbody></table>")
    return "".join(out)


def glance_markdown(rows: list[Mapping[str, Any]]) -> str:
    lines = ["| verdict | claim | paper | ours | why |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [row["verdict"], row["id"], format_number(row["paper"]), ours_text(row), row["cause"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
