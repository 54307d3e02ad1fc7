"""Claims: what a paper says, what we measured, and a verdict computed by rules fixed in advance.

A chapter's ``config.py`` declares, before the run, one :class:`Rule` per claim: the criterion the
measured value must meet, the *instrument checks* that show the experiment could have seen the effect,
how many seeds a trained claim needs, and whether the claim is a result or a consistency check (true
by construction, shown apart, never counted). The notebook builds :class:`Claim` objects from its
measurements and calls :func:`show_claims`, which renders the table and attaches the claims to the
cell's output metadata; the chapter pipeline lifts them into the report's metadata.

The verdict is, in this order:

1. ``inconclusive`` when fewer seeds were measured than the rule needs, or a measured instrument check
   fails (the table names the failed check and its value) -- not a pass, counted on its own; this holds
   also when the claim itself could not be measured because of what the check shows;
2. ``not run`` when the claim has no measured value (and no measured check failed);
3. otherwise the criterion's verdict on the measured value. Over several seeds the criterion judges the
   effect against its spread: by default mean - sd must clear an ``AtLeast`` bar (mean + sd an
   ``AtMost`` bar, |mean - target| + sd a ``Within`` tolerance) and every seed must hold an ``IsTrue``.

Stored claims carry their per-seed values and machine-readable rules, so :func:`recompute_verdict`
re-derives every verdict from what a report stores; the freshness test uses it.
"""

from __future__ import annotations

import dataclasses
import html
import math
import statistics
from collections.abc import Mapping
from typing import Any, Literal

Verdict = Literal["reproduced", "partly", "not reproduced", "inconclusive", "not run"]
VERDICTS: tuple[Verdict, ...] = ("reproduced", "partly", "not reproduced", "inconclusive", "not run")
Kind = Literal["result", "consistency"]
KINDS: tuple[Kind, ...] = ("result", "consistency")
OverSeeds = Literal["mean-sd", "every-seed", "mean"]
OVER_SEEDS: tuple[OverSeeds, ...] = ("mean-sd", "every-seed", "mean")
CLAIMS_METADATA_KEY = "sensorimotor"
BOX_METADATA_KEY = "sensorimotor-box"

VERDICT_COLOURS = {
    "reproduced": "#2e7d32",
    "partly": "#ef6c00",
    "not reproduced": "#c62828",
    "inconclusive": "#6a1b9a",
    "not run": "#616161",
}


class ClaimError(ValueError):
    """A claim, rule or measured value that cannot be judged as declared."""


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    """numpy / torch scalars -> Python scalars; NaN -> None (reports hold strict JSON)."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclasses.dataclass(frozen=True, init=False)
class Seeds:
    """One measured quantity over several training seeds: ``Seeds({0: 0.71, 1: 0.64, 2: 0.69})``."""

    values: dict[int, Any]

    def __init__(self, values: Mapping[int, Any]) -> None:
        if not values:
            raise ClaimError("Seeds needs at least one seed's value")
        clean = {}
        for seed, value in values.items():
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise ClaimError(f"seed keys must be ints, got {seed!r}")
            value = _plain(value)
            if value is not None and not isinstance(value, (bool, int, float)):
                raise ClaimError(f"seed {seed}: value {value!r} is not a number or a bool")
            clean[seed] = value
        object.__setattr__(self, "values", dict(sorted(clean.items())))

    @property
    def measured(self) -> list[Any]:
        return [v for v in self.values.values() if v is not None]

    @property
    def n(self) -> int:
        return len(self.measured)

    def _numbers(self) -> list[float]:
        return [float(v) for v in self.measured]

    @property
    def mean(self) -> Any:
        values = self.measured
        if not values:
            return None
        if len(values) == 1:
            return values[0]
        return statistics.fmean(self._numbers())  # for bools: the fraction of seeds that hold

    @property
    def sd(self) -> float | None:
        values = self.measured
        if len(values) < 2 or any(isinstance(v, bool) for v in values):
            return None
        return statistics.stdev(self._numbers())


def _as_seeds(value: Any) -> Seeds | None:
    if isinstance(value, Seeds):
        return value if value.n else None
    if _is_missing(_plain(value)):
        return None
    return Seeds({0: value})


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClaimError(f"criterion needs a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ClaimError(f"criterion needs a finite number, got {value!r}")
    return float(value)


@dataclasses.dataclass(frozen=True)
class Criterion:
    """Base class: maps measured values (one or several seeds) to a verdict, describes itself."""

    over_seeds: OverSeeds = "mean-sd"

    def __post_init__(self) -> None:
        if self.over_seeds not in OVER_SEEDS:
            raise ClaimError(f"over_seeds={self.over_seeds!r}; accepted: {', '.join(OVER_SEEDS)}")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ClaimError(f"{type(self).__name__}.{field.name}={value!r} must be finite")

    def verdict(self, value: Any) -> Verdict:
        seeds = _as_seeds(value)
        if seeds is None:
            return "not run"
        return self._judge_seeds(seeds)

    def _judge_seeds(self, seeds: Seeds) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_spec(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **dataclasses.asdict(self)}

    def _spread_words(self) -> str:
        return {"mean-sd": "", "every-seed": " in every seed", "mean": " (seed mean)"}[self.over_seeds]


def _pooled(seeds: Seeds, rule: OverSeeds, direction: int) -> float:
    """The value a one-sided bar judges: the pessimistic end of the seeds' spread.

    ``direction`` +1 for "high is good" (AtLeast), -1 for "low is good" (AtMost).
    """
    numbers = [_number(v) for v in seeds.measured]
    if rule == "every-seed":
        return min(numbers) if direction > 0 else max(numbers)
    mean = statistics.fmean(numbers)
    if rule == "mean" or len(numbers) < 2:
        return mean
    return mean - direction * statistics.stdev(numbers)


@dataclasses.dataclass(frozen=True)
class AtLeast(Criterion):
    """Reproduced when the value clears ``reproduced``; partly when it clears ``partly`` (if given)."""

    reproduced: float = 0.0
    partly: float | None = None

    def __init__(self, reproduced: float, partly: float | None = None, over_seeds: OverSeeds = "mean-sd") -> None:
        object.__setattr__(self, "reproduced", reproduced)
        object.__setattr__(self, "partly", partly)
        object.__setattr__(self, "over_seeds", over_seeds)
        self.__post_init__()
        if partly is not None and partly > reproduced:
            raise ClaimError(f"AtLeast: partly bar {partly} above the reproduced bar {reproduced}")

    def _judge_seeds(self, seeds: Seeds) -> Verdict:
        v = _pooled(seeds, self.over_seeds, +1)
        if v >= self.reproduced:
            return "reproduced"
        if self.partly is not None and v >= self.partly:
            return "partly"
        return "not reproduced"

    def describe(self) -> str:
        lead = "mean − sd " if self.over_seeds == "mean-sd" else ""
        text = f"{lead}≥ {self.reproduced:g}{self._spread_words()}"
        return text + (f" (partly: ≥ {self.partly:g})" if self.partly is not None else "")


@dataclasses.dataclass(frozen=True)
class AtMost(Criterion):
    """Reproduced when the value stays under ``reproduced``; partly under ``partly`` (if given)."""

    reproduced: float = 0.0
    partly: float | None = None

    def __init__(self, reproduced: float, partly: float | None = None, over_seeds: OverSeeds = "mean-sd") -> None:
        object.__setattr__(self, "reproduced", reproduced)
        object.__setattr__(self, "partly", partly)
        object.__setattr__(self, "over_seeds", over_seeds)
        self.__post_init__()
        if partly is not None and partly < reproduced:
            raise ClaimError(f"AtMost: partly bar {partly} below the reproduced bar {reproduced}")

    def _judge_seeds(self, seeds: Seeds) -> Verdict:
        v = _pooled(seeds, self.over_seeds, -1)
        if v <= self.reproduced:
            return "reproduced"
        if self.partly is not None and v <= self.partly:
            return "partly"
        return "not reproduced"

    def describe(self) -> str:
        lead = "mean + sd " if self.over_seeds == "mean-sd" else ""
        text = f"{lead}≤ {self.reproduced:g}{self._spread_words()}"
        return text + (f" (partly: ≤ {self.partly:g})" if self.partly is not None else "")


@dataclasses.dataclass(frozen=True)
class Within(Criterion):
    """Reproduced when |value - target| <= tolerance (plus the seeds' sd); partly within ``partly_tolerance``."""

    target: float = 0.0
    tolerance: float = 0.0
    partly_tolerance: float | None = None

    def __init__(
        self, target: float, tolerance: float, partly_tolerance: float | None = None, over_seeds: OverSeeds = "mean-sd"
    ) -> None:
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "tolerance", tolerance)
        object.__setattr__(self, "partly_tolerance", partly_tolerance)
        object.__setattr__(self, "over_seeds", over_seeds)
        self.__post_init__()
        if tolerance < 0 or (partly_tolerance is not None and partly_tolerance < tolerance):
            raise ClaimError(f"Within: need 0 <= tolerance {tolerance} <= partly_tolerance {partly_tolerance}")

    def _judge_seeds(self, seeds: Seeds) -> Verdict:
        numbers = [_number(v) for v in seeds.measured]
        if self.over_seeds == "every-seed":
            gap = max(abs(v - self.target) for v in numbers)
        else:
            gap = abs(statistics.fmean(numbers) - self.target)
            if self.over_seeds == "mean-sd" and len(numbers) > 1:
                gap += statistics.stdev(numbers)
        if gap <= self.tolerance:
            return "reproduced"
        if self.partly_tolerance is not None and gap <= self.partly_tolerance:
            return "partly"
        return "not reproduced"

    def describe(self) -> str:
        text = f"within {self.tolerance:g} of {self.target:g}{self._spread_words()}"
        if self.partly_tolerance is not None:
            text += f" (partly: within {self.partly_tolerance:g})"
        return text


@dataclasses.dataclass(frozen=True)
class IsTrue(Criterion):
    """Reproduced when the measured yes/no holds (in every seed, by default)."""

    def __init__(self, over_seeds: OverSeeds = "every-seed") -> None:
        object.__setattr__(self, "over_seeds", over_seeds)
        self.__post_init__()

    def _judge_seeds(self, seeds: Seeds) -> Verdict:
        values = seeds.measured
        for v in values:
            if not isinstance(v, bool):
                raise ClaimError(f"IsTrue needs a bool, got {v!r}")
        if self.over_seeds == "every-seed":
            return "reproduced" if all(values) else "not reproduced"
        return "reproduced" if sum(values) * 2 > len(values) else "not reproduced"

    def describe(self) -> str:
        return "holds" + (" in every seed" if self.over_seeds == "every-seed" else " in most seeds")


CRITERION_TYPES: dict[str, type[Criterion]] = {c.__name__: c for c in (AtLeast, AtMost, Within, IsTrue)}


def criterion_from_spec(spec: Mapping[str, Any]) -> Criterion:
    """Rebuild a criterion from :meth:`Criterion.to_spec` (as stored in a report)."""
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in CRITERION_TYPES:
        raise ClaimError(f"unknown criterion type {kind!r}; accepted: {', '.join(CRITERION_TYPES)}")
    return CRITERION_TYPES[kind](**spec)


@dataclasses.dataclass(frozen=True)
class Rule:
    """How one claim is judged, declared in ``config.py`` before the run.

    ``checks`` maps an instrument check's name (what it shows, in words) to the criterion its measured
    value must *reproduce* to pass. ``min_seeds`` is the number of training seeds a trained claim needs
    (say why in ``seed_note`` when it is below 3). ``kind="consistency"`` marks a claim true by
    construction: shown apart, left out of the tally.
    """

    criterion: Criterion
    checks: Mapping[str, Criterion] = dataclasses.field(default_factory=dict)
    min_seeds: int = 1
    kind: Kind = "result"
    seed_note: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.criterion, Criterion):
            raise ClaimError(f"Rule needs a Criterion, got {self.criterion!r}")
        if self.kind not in KINDS:
            raise ClaimError(f"kind={self.kind!r}; accepted: {', '.join(KINDS)}")
        if isinstance(self.min_seeds, bool) or not isinstance(self.min_seeds, int) or self.min_seeds < 1:
            raise ClaimError(f"min_seeds={self.min_seeds!r} must be an int >= 1")
        for name, check in self.checks.items():
            if not name or not isinstance(check, Criterion):
                raise ClaimError(f"check {name!r} needs a name and a Criterion, got {check!r}")
        object.__setattr__(self, "checks", dict(self.checks))

    def to_spec(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion.to_spec(),
            "checks": {name: c.to_spec() for name, c in self.checks.items()},
            "min_seeds": self.min_seeds,
            "kind": self.kind,
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Rule:
        return cls(
            criterion=criterion_from_spec(spec["criterion"]),
            checks={name: criterion_from_spec(c) for name, c in spec.get("checks", {}).items()},
            min_seeds=spec.get("min_seeds", 1),
            kind=spec.get("kind", "result"),
        )


def _rule(rule_or_criterion: Rule | Criterion) -> Rule:
    if isinstance(rule_or_criterion, Rule):
        return rule_or_criterion
    if isinstance(rule_or_criterion, Criterion):
        return Rule(rule_or_criterion)
    raise ClaimError(f"a claim needs a Rule or a Criterion, got {rule_or_criterion!r}")


def _judge(rule: Rule, ours: Any, checks: Mapping[str, Any]) -> tuple[Verdict, list[str]]:
    """The verdict and, when inconclusive, why (one phrase per failed check)."""
    seeds = _as_seeds(ours)
    failed = []
    if seeds is not None and seeds.n < rule.min_seeds:
        failed.append(f"seeds: {seeds.n} measured, {rule.min_seeds} needed")
    for name, criterion in rule.checks.items():
        value = checks.get(name)
        if seeds is None and _as_seeds(value) is None:
            continue  # neither the claim nor this check was measured
        if criterion.verdict(value) != "reproduced":
            failed.append(f"{name}: {format_value(_summary(value))} (needs {criterion.describe()})")
    if failed:  # a measured check that fails explains a missing value too: the experiment could not see it
        return "inconclusive", failed
    if seeds is None:
        return "not run", []
    return rule.criterion.verdict(seeds), []


def _summary(value: Any) -> Any:
    return value.mean if isinstance(value, Seeds) else _plain(value)


def _per_seed(value: Any) -> dict[str, Any] | None:
    return {str(k): v for k, v in value.values.items()} if isinstance(value, Seeds) else None


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of a paper, our measurement of it, and the verdict its rule gives.

    ``ours`` is a number, a bool, a :class:`Seeds` of them, or None when the experiment did not run.
    ``checks`` holds the measured value of each instrument check the rule declares (exactly those).
    ``section`` is the MyST label of the chapter section that tests the claim (for links).
    """

    id: str
    source: str  # where in the paper: "Table 1", "Fig. 5", "Section 5.3"
    statement: str
    paper: Any  # the paper's value as reported (number or short text)
    ours: Any
    criterion: Rule | Criterion
    checks: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    section: str | None = None

    def __post_init__(self) -> None:
        rule = _rule(self.criterion)
        object.__setattr__(self, "criterion", rule)
        measured, declared = set(self.checks), set(rule.checks)
        if measured != declared:
            raise ClaimError(
                f"claim {self.id}: measured checks {sorted(measured)} differ from the checks its rule declares "
                f"{sorted(declared)}"
            )

    @property
    def rule(self) -> Rule:
        assert isinstance(self.criterion, Rule)
        return self.criterion

    @property
    def verdict(self) -> Verdict:
        return _judge(self.rule, self.ours, self.checks)[0]

    @property
    def failed_checks(self) -> list[str]:
        return _judge(self.rule, self.ours, self.checks)[1]

    def to_dict(self) -> dict[str, Any]:
        seeds = _as_seeds(self.ours)
        return {
            "id": self.id,
            "source": self.source,
            "statement": self.statement,
            "paper": _plain(self.paper),
            "ours": _summary(self.ours),
            "per_seed": _per_seed(self.ours),
            "spread": seeds.sd if seeds is not None else None,
            "criterion": self.rule.criterion.describe(),
            "rule": self.rule.to_spec(),
            "checks": {
                name: {"value": _summary(v), "per_seed": _per_seed(v), "needs": self.rule.checks[name].describe()}
                for name, v in self.checks.items()
            },
            "failed_checks": self.failed_checks,
            "seed_note": self.rule.seed_note,
            "kind": self.rule.kind,
            "section": self.section,
            "verdict": self.verdict,
        }


CLAIM_FIELDS = frozenset(
    {"id", "source", "statement", "paper", "ours", "per_seed", "spread", "criterion", "rule", "checks",
     "failed_checks", "seed_note", "kind", "section", "verdict"}
)  # fmt: skip


def _stored_value(value: Any, per_seed: Mapping[str, Any] | None) -> Any:
    if per_seed is not None:
        seeds = Seeds({int(k): v for k, v in per_seed.items()})
        if seeds.n and value is not None and seeds.mean != value and not (
            isinstance(value, float) and math.isclose(float(seeds.mean), value, rel_tol=1e-9, abs_tol=1e-12)
        ):
            raise ClaimError(f"stored value {value!r} is not the mean of its per-seed values {dict(per_seed)}")
        return seeds
    return value


def recompute_verdict(row: Mapping[str, Any]) -> tuple[Verdict, list[str]]:
    """The verdict (and failed checks) that a stored claim's values and rule give, recomputed."""
    missing = CLAIM_FIELDS - set(row)
    if missing:
        raise ClaimError(f"claim {row.get('id')!r} lacks fields {sorted(missing)}")
    rule = Rule.from_spec(row["rule"])
    ours = _stored_value(row["ours"], row["per_seed"])
    checks = {name: _stored_value(c["value"], c["per_seed"]) for name, c in row["checks"].items()}
    if set(checks) != set(rule.checks):
        raise ClaimError(f"claim {row['id']}: stored checks {sorted(checks)} differ from its rule's {sorted(rule.checks)}")
    return _judge(rule, ours, checks)


def tally(rows: list[Mapping[str, Any]]) -> dict[str, int]:
    """Counts of each verdict over the *result* claims (consistency checks are not results)."""
    results = [r for r in rows if r.get("kind", "result") == "result"]
    return {v: sum(r["verdict"] == v for r in results) for v in VERDICTS}


def format_value(value: Any, spread: float | None = None) -> str:
    """A value to its meaningful digits (3 significant), with ± spread when given."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.3g}" if value != 0 else "0"
    else:
        text = str(value)
    if spread is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        text += f" ± {spread:.2g}"
    return text


def _ours_text(row: Mapping[str, Any]) -> str:
    text = format_value(row["ours"], row.get("spread"))
    per_seed = row.get("per_seed")
    if per_seed and len(per_seed) > 1:
        text += f" ({len(per_seed)} seeds)"
    return text


def _verdict_text(row: Mapping[str, Any]) -> str:
    text = row["verdict"]
    if row["verdict"] == "inconclusive" and row.get("failed_checks"):
        text += " — failed: " + "; ".join(row["failed_checks"])
    return text


def claims_markdown(rows: list[Mapping[str, Any]], with_paper_column: bool = False) -> str:
    """A Markdown table of claim dicts (as stored in metadata)."""
    head = ["claim", "source", "statement", "paper", "ours", "criterion", "verdict"]
    if with_paper_column:
        head = ["chapter", *head]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.get("chapter", "")] if with_paper_column else []
        cells += [row["id"], row["source"], row["statement"], format_value(row["paper"]), _ours_text(row),
                  row["criterion"], f"**{_verdict_text(row)}**"]  # fmt: skip
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


def _verdict_cell(row: Mapping[str, Any]) -> str:
    colour = VERDICT_COLOURS[row["verdict"]]
    out = f'<span style="color:{colour};font-weight:bold">{html.escape(row["verdict"])}</span>'
    if row["verdict"] == "inconclusive" and row.get("failed_checks"):
        out += "<br><small>failed: " + "; ".join(html.escape(f) for f in row["failed_checks"]) + "</small>"
    return out


def claims_html(rows: list[Mapping[str, Any]]) -> str:
    """The claims table as HTML: results first, then consistency checks under their own heading."""
    head = ["claim", "source", "statement", "paper", "ours", "criterion", "verdict"]
    out = ['<table class="sensorimotor-claims" style="table-layout:fixed;width:100%;font-size:90%"><thead><tr>']
    out += [f"<th>{h}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for kind in KINDS:
        group = [r for r in rows if r.get("kind", "result") == kind]
        if not group:
            continue
        if kind == "consistency":
            out.append(f'<tr><td colspan="{len(head)}"><em>Consistency checks (true by construction; '
                       "not counted as results)</em></td></tr>")  # fmt: skip
        for row in group:
            cells = [row["id"], row["source"], row["statement"], format_value(row["paper"]), _ours_text(row),
                     row["criterion"]]  # fmt: skip
            out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells))
            out.append(f"<td>{_verdict_cell(row)}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def verdict_box_html(row: Mapping[str, Any]) -> str:
    """A small box closing a section: the claim, paper value, ours (with seed spread), verdict, and each
    instrument check once, marked passed (✓) or failed (✗)."""
    colour = VERDICT_COLOURS[row["verdict"]]
    verdict = f'<span style="color:{colour};font-weight:bold">{html.escape(row["verdict"])}</span>'
    parts = [
        f'<div class="sensorimotor-verdict" style="border-left:6px solid {colour};padding:0.4em 0.8em;'
        'margin:0.6em 0;background:#f7f7f7">',
        f"<strong>{html.escape(row['id'])}</strong> ({html.escape(row['source'])}): {html.escape(row['statement'])}<br>",
        f"paper: {html.escape(format_value(row['paper']))} · ours: {html.escape(_ours_text(row))} · "
        f"criterion: {html.escape(row['criterion'])} · verdict: {verdict}",
    ]
    if row.get("kind") == "consistency":
        parts.append("<br><small>consistency check: true by construction, not counted as a result</small>")
    failed = row.get("failed_checks") or []
    marks = [f"✗ {html.escape(f)}" for f in failed if f.startswith("seeds:")]
    for name, check in (row.get("checks") or {}).items():
        ok = not any(f.startswith(f"{name}:") for f in failed)
        marks.append(f"{'✓' if ok else '✗'} {html.escape(name)} = {html.escape(format_value(check['value']))} "
                     f"(needs {html.escape(check['needs'])})")  # fmt: skip
    if marks:
        parts.append("<br><small>instrument checks: " + "; ".join(marks) + "</small>")
    if row.get("seed_note"):
        parts.append(f"<br><small>seeds: {html.escape(row['seed_note'])}</small>")
    parts.append("</div>")
    return "".join(parts)


def _check_unique(claims: list[Claim]) -> None:
    ids = [c.id for c in claims]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ClaimError(f"duplicate claim ids: {duplicates}")


def show_verdict(claim: Claim) -> dict[str, Any]:
    """Display the verdict box of one claim (at the end of its section). Not collected into the report's
    claims: :func:`show_claims` at the end of the chapter does that."""
    from IPython.display import display

    row = claim.to_dict()
    text = f"{row['id']}: paper {format_value(row['paper'])}, ours {_ours_text(row)} -> {_verdict_text(row)}"
    display({"text/html": verdict_box_html(row), "text/plain": text}, raw=True, metadata={BOX_METADATA_KEY: row["id"]})
    return row


def show_claims(claims: list[Claim]) -> list[dict[str, Any]]:
    """Display the claims table in a notebook and attach the claims to the output's metadata.

    Returns the claim dicts. Claim ids must be unique.
    """
    _check_unique(claims)
    rows = [c.to_dict() for c in claims]
    from IPython.display import display

    bundle = {"text/html": claims_html(rows), "text/markdown": claims_markdown(rows), "text/plain": claims_markdown(rows)}
    display(bundle, raw=True, metadata={CLAIMS_METADATA_KEY: {"claims": rows}})
    return rows
