"""Claim rows as the book's generated pages read them: the reports' schema-2 claims.

A report stores one dict per claim, as :meth:`sensorimotor.verdicts.Claim.to_dict` writes it
(``"schema": 2``): ``null`` (what a trivial answer scores), ``smallest_effect``, ``paper_effect``, an
``interval`` at ``level``, the values ``per_unit`` and, when it is not reproduced, a one-line ``cause``.
A row of any other schema is refused by :func:`require_schema2`. This module turns the rows into what
the pages show: one short cause per claim, the causes grouped, and positions on the replication scale
(0 = null, 1 = the smallest effect that counts as the paper's).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sensorimotor.verdicts import SCHEMA, counts_checks, is_check_cause  # SCHEMA: the claim schema the pages read, and the only one

CAUSE_CHARS = 72  # a cause fits one line of the summary's verdict column at the book's width


def chapter_rows(root: Path) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Every chapter's claim rows (with ``chapter`` added), and the chapters without a report."""
    from sensorimotor.chapters import discover_chapters, read_report_metadata

    rows: dict[str, list[dict[str, Any]]] = {}
    missing = []
    for chapter in discover_chapters(root).values():
        if not chapter.report.exists():
            missing.append(chapter.name)
            continue
        claims = read_report_metadata(chapter.report).get("claims", [])
        rows[chapter.name] = [{**row, "chapter": chapter.name} for row in require_schema2(claims)]
    return rows, missing


def require_schema2(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``rows`` as a list, once each is known to be a schema-2 claim; else a :class:`ValueError` naming it."""
    rows = list(rows)
    for row in rows:
        if not isinstance(row, Mapping) or row.get("schema") != SCHEMA:
            claim = row.get("id", "?") if isinstance(row, Mapping) else row
            raise ValueError(f"claim {claim!r} is not a schema-{SCHEMA} claim (sensorimotor.verdicts): "
                             "rerun its chapter")  # fmt: skip
    return rows


def real(value: Any) -> float | None:
    """``value`` as a finite float if it is a real number (not a bool), else None."""
    if value is None or isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if not isinstance(value, numbers.Real):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def unit_values(row: Mapping[str, Any]) -> list[Any]:
    """The values of every seed, case or repeat: a row's ``per_unit``, dict or list (none when not measured)."""
    values = row.get("per_unit")
    if values is None:
        return []
    if isinstance(values, Mapping):
        return list(values.values())
    if isinstance(values, (str, bytes)):
        return []
    return list(values)


def unit_name(row: Mapping[str, Any]) -> str:
    """What one value of ``unit_values`` is: the row's ``unit``, ``"seeds"`` when it names none."""
    return str(row.get("unit") or "seeds")


def shorten(text: str, limit: int = CAUSE_CHARS) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis if cut."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:(−-")
    return cut + "…"


def claim_cause(row: Mapping[str, Any]) -> str | None:
    """The row's ``cause`` shortened to one line, or None when it states none."""
    return shorten(str(row["cause"])) if row.get("cause") else None


@dataclasses.dataclass
class CauseGroup:
    """Inconclusive claims that share one cause, and what would settle them."""

    cause: str
    settle: str
    rows: list[Mapping[str, Any]] = dataclasses.field(default_factory=list)


def _group_key(row: Mapping[str, Any]) -> tuple[str, str]:
    """(cause in words, what would settle it) for one inconclusive claim."""
    cause = str(row.get("cause") or "")
    if not cause:
        return "no cause recorded", "a rerun of its chapter"
    if is_check_cause(cause):
        which = "those checks pass" if counts_checks(cause) else "that check passes"
        return cause, f"a run in which {which} (a longer or larger training run, or a mended instrument)"
    if row.get("needed_n"):
        return cause, f"about {row['needed_n']} {unit_name(row)} (this run: {len(unit_values(row))})"
    return cause, "a run with enough " + unit_name(row)


def cause_groups(rows: list[Mapping[str, Any]]) -> list[CauseGroup]:
    """The inconclusive result claims of ``rows`` grouped by cause, largest group first."""
    groups: dict[str, CauseGroup] = {}
    for row in rows:
        if row.get("verdict") != "inconclusive" or row.get("kind", "result") != "result":
            continue
        cause, settle = _group_key(row)
        groups.setdefault(cause, CauseGroup(cause, settle)).rows.append(row)
    return sorted(groups.values(), key=lambda g: -len(g.rows))


def scale_position(row: Mapping[str, Any], value: Any) -> float | None:
    """``(value - null) / (smallest_effect - null)`` of a schema-2 row: 0 = the null, 1 = the smallest effect
    that counts as the paper's (every schema-2 rule declares both, also where the paper gives no number).
    None when ``value`` is not a finite number (a claim not measured)."""
    null, smallest, x = real(row.get("null")), real(row.get("smallest_effect")), real(value)
    if null is None or smallest is None or x is None or smallest == null:
        return None
    return (x - null) / (smallest - null)


def budget_text(row: Mapping[str, Any]) -> str | None:
    """``"budget: 3 of the paper's 10 seeds (30%)"`` for a row that records one."""
    budget = row.get("budget")
    if not isinstance(budget, Mapping):
        return None
    fraction = real(budget.get("fraction"))
    share = f" ({fraction:.0%})" if fraction is not None else ""
    return (
        f"budget: {budget.get('ours')} of the paper's {budget.get('paper')} {budget.get('unit', '')}".rstrip()
        + share
    )


def amendment_lines(row: Mapping[str, Any]) -> list[str]:
    """The summary's note on a row's rule history: its last amendment, with the verdict under the
    rule it replaced, and how many came before (the chapter's verdict box lists them all)."""
    amended = row.get("amendments") or []
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
