"""Claim rows as the book's generated pages read them: from the reports, in either row schema.

A report stores one dict per claim. Rows written before the replication scale (no ``"schema"`` key)
carry ``per_seed`` as ``{"0": value, ...}`` and explain an *inconclusive* verdict by ``failed_checks``,
strings ``"<check name>: <value> (needs <bar>)"`` or ``"seeds: n measured, m needed"``. Rows with
``"schema": 2`` also declare ``null`` (what a trivial answer scores), ``smallest_effect``,
``paper_effect``, an ``interval`` at ``level``, the values ``per_unit`` and, when it is not reproduced,
a one-line ``cause``. This module turns both into what the pages show: one short cause per claim,
the causes grouped, and positions on the replication scale (0 = null, 1 = the paper's effect).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CAUSE_CHARS = 72  # a cause fits one line of the summary's verdict column at the book's width
_FAILED = re.compile(r"^(?P<name>.*): (?P<value>[^:]+?) \(needs (?P<needs>.*)\)$")
_SEEDS = re.compile(r"^seeds: (?P<n>\d+) measured, (?P<needed>\d+) needed$")
_PAREN = re.compile(r"\s*\([^()]*\)")


def chapter_rows(root: Path) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Every chapter's claim rows (with ``chapter`` added), and the chapters without a report."""
    from sensorimotor.chapters import discover_chapters, read_report_metadata

    rows: dict[str, list[dict[str, Any]]] = {}
    missing = []
    for chapter in discover_chapters(root).values():
        if not chapter.report.exists():
            missing.append(chapter.name)
            continue
        meta = read_report_metadata(chapter.report)
        # reports made before the verdict rules lack some fields: they read as single-seed results
        defaults = {"kind": "result", "per_seed": None, "spread": None, "failed_checks": [], "section": None}
        rows[chapter.name] = [{**defaults, **row, "chapter": chapter.name} for row in meta.get("claims", [])]
    return rows, missing


def real(value: Any) -> float | None:
    """``value`` as a finite float if it is a real number (not a bool), else None."""
    if value is None or isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if not isinstance(value, numbers.Real):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def is_schema2(row: Mapping[str, Any]) -> bool:
    """Whether ``row`` is on the replication scale (declares ``"schema": 2``)."""
    return row.get("schema") == 2


def unit_values(row: Mapping[str, Any]) -> list[Any]:
    """The values of every seed, case or repeat: ``per_unit`` (schema 2) or ``per_seed``, dict or list."""
    values = row.get("per_unit") if is_schema2(row) else row.get("per_seed")
    if values is None:
        return []
    if isinstance(values, Mapping):
        return list(values.values())
    if isinstance(values, (str, bytes)):
        return []
    return list(values)


def unit_name(row: Mapping[str, Any]) -> str:
    """What one value of ``unit_values`` is: ``"seeds"`` unless a schema-2 row says otherwise."""
    return str(row.get("unit") or "seeds") if is_schema2(row) else "seeds"


def shorten(text: str, limit: int = CAUSE_CHARS) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis if cut."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:(−-")
    return cut + "…"


@dataclasses.dataclass(frozen=True)
class FailedCheck:
    """One failed instrument check, parsed from a stored ``failed_checks`` string."""

    name: str
    value: str
    needs: str

    @property
    def family(self) -> str:
        """The check's name without parenthesised qualifiers: what groups like checks together."""
        return " ".join(_PAREN.sub("", self.name).split()) or self.name


def parse_failed(text: str) -> FailedCheck:
    """``"name: value (needs bar)"`` -> its parts; ``"seeds: 1 measured, 3 needed"`` -> name ``seeds``."""
    seeds = _SEEDS.match(text)
    if seeds:
        return FailedCheck("seeds", seeds["n"], seeds["needed"])
    match = _FAILED.match(text)
    if match:
        return FailedCheck(match["name"], match["value"], match["needs"])
    return FailedCheck(text, "", "")


def claim_cause(row: Mapping[str, Any]) -> str | None:
    """One short line saying why a claim is not simply reproduced, or None when there is nothing to say.

    A schema-2 row states its ``cause``; an older row's first failed check gives it.
    """
    if row.get("cause"):
        return shorten(str(row["cause"]))
    failed = [parse_failed(f) for f in row.get("failed_checks") or []]
    if not failed:
        return None
    first = failed[0]
    if first.name == "seeds":
        return f"too few seeds: {first.value} measured, {first.needs} needed"
    more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
    return shorten(f"instrument check failed: {first.family}", CAUSE_CHARS - len(more)) + more


@dataclasses.dataclass
class CauseGroup:
    """Inconclusive claims that share one cause, and what would settle them."""

    cause: str
    settle: str
    rows: list[Mapping[str, Any]] = dataclasses.field(default_factory=list)
    measured: list[str] = dataclasses.field(default_factory=list)


def _group_key(row: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(cause in words, what would settle it, the measured value) for one inconclusive claim."""
    if is_schema2(row) and row.get("cause"):
        cause = str(row["cause"])
        if cause.startswith(("apparatus failed", "prerequisite failed", "check defective")):
            settle = "a run in which that check passes (a longer or larger training run, or a mended instrument)"
        elif row.get("needed_n"):
            settle = f"about {row['needed_n']} {unit_name(row)} (this run: {len(unit_values(row))})"
        else:
            settle = "a run with enough " + unit_name(row)
        return cause, settle, None
    failed = [parse_failed(f) for f in row.get("failed_checks") or []]
    if not failed:
        return "no cause recorded", "a rerun that records its instrument checks", None
    first = failed[0]
    if first.name == "seeds":
        return "too few seeds measured", f"a run of {first.needs} seeds or more", first.value
    return (
        f"instrument check “{first.family}” failed",
        f"a run in which this check reaches {first.needs}",
        first.value,
    )


def cause_groups(rows: list[Mapping[str, Any]]) -> list[CauseGroup]:
    """The inconclusive result claims of ``rows`` grouped by cause, largest group first."""
    groups: dict[str, CauseGroup] = {}
    for row in rows:
        if row.get("verdict") != "inconclusive" or row.get("kind", "result") != "result":
            continue
        cause, settle, measured = _group_key(row)
        group = groups.setdefault(cause, CauseGroup(cause, settle))
        group.rows.append(row)
        if measured is not None and measured not in group.measured:
            group.measured.append(measured)
    return sorted(groups.values(), key=lambda g: -len(g.rows))


def scale_position(row: Mapping[str, Any], value: Any) -> float | None:
    """``(value - null) / (smallest_effect - null)`` of a schema-2 row: 0 = the null, 1 = the smallest effect
    that counts as the paper's (every schema-2 rule declares both, also where the paper gives no number)."""
    if not is_schema2(row):
        return None
    null, smallest, x = real(row.get("null")), real(row.get("smallest_effect")), real(value)
    if null is None or smallest is None or x is None or smallest == null:
        return None
    return (x - null) / (smallest - null)


def budget_text(row: Mapping[str, Any]) -> str | None:
    """``"budget: 3 of the paper's 10 seeds (30%)"`` for a schema-2 row that records one."""
    budget = row.get("budget")
    if not is_schema2(row) or not isinstance(budget, Mapping):
        return None
    fraction = real(budget.get("fraction"))
    share = f" ({fraction:.0%})" if fraction is not None else ""
    return (
        f"budget: {budget.get('ours')} of the paper's {budget.get('paper')} {budget.get('unit', '')}".rstrip()
        + share
    )


def amendment_lines(row: Mapping[str, Any]) -> list[str]:
    """The summary's note on a schema-2 row's rule history: its last amendment, with the verdict under the
    rule it replaced, and how many came before (the chapter's verdict box lists them all)."""
    amended = (row.get("amendments") or []) if is_schema2(row) else []
    if not amended:
        return []
    a = amended[-1]
    known = str(a.get("known") or "")
    when = "before any result" if not known or known.startswith("no run") else "after the result was known"
    count = f"rule amended {len(amended)} times (all in the chapter's verdict box); last " if len(amended) > 1 else ""
    line = (f"{count}amended {a.get('date')}: {shorten(str(a.get('old')), 80)} → {shorten(str(a.get('new')), 80)} "
            f"({shorten(str(a.get('why')), 80)}; {when})")  # fmt: skip
    original = a.get("verdict_under_original") or a.get("verdict_then")
    if original:
        line += f"; under the rule it replaced: {original}"
    return [line]
