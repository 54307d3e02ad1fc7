"""Claims: what a paper says, what we measured, and a verdict computed by a criterion fixed in advance.

Criteria live in a chapter's ``config.py`` (written before the run); the notebook builds
:class:`Claim` objects from its results and calls :func:`show_claims`, which renders the table and
attaches the claims to the cell's output metadata. The chapter pipeline lifts them into the executed
notebook's metadata under ``sensorimotor`` -> ``claims``.
"""

from __future__ import annotations

import dataclasses
import html
import math
from typing import Any, Literal

Verdict = Literal["reproduced", "partly", "not reproduced", "not run"]
VERDICTS: tuple[Verdict, ...] = ("reproduced", "partly", "not reproduced", "not run")
CLAIMS_METADATA_KEY = "sensorimotor"


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclasses.dataclass(frozen=True)
class Criterion:
    """Base class. Subclasses map a measured value to a verdict and describe themselves in words."""

    def verdict(self, value: Any) -> Verdict:
        if _is_missing(value):
            return "not run"
        return self._judge(value)

    def _judge(self, value: Any) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"criterion needs a number, got {value!r} ({type(value).__name__})")
    return float(value)


@dataclasses.dataclass(frozen=True)
class AtLeast(Criterion):
    """Reproduced when value >= ``reproduced``; partly when value >= ``partly`` (if given)."""

    reproduced: float
    partly: float | None = None

    def _judge(self, value: Any) -> Verdict:
        v = _number(value)
        if v >= self.reproduced:
            return "reproduced"
        if self.partly is not None and v >= self.partly:
            return "partly"
        return "not reproduced"

    def describe(self) -> str:
        text = f">= {self.reproduced:g}"
        return text + (f" (partly: >= {self.partly:g})" if self.partly is not None else "")


@dataclasses.dataclass(frozen=True)
class AtMost(Criterion):
    """Reproduced when value <= ``reproduced``; partly when value <= ``partly`` (if given)."""

    reproduced: float
    partly: float | None = None

    def _judge(self, value: Any) -> Verdict:
        v = _number(value)
        if v <= self.reproduced:
            return "reproduced"
        if self.partly is not None and v <= self.partly:
            return "partly"
        return "not reproduced"

    def describe(self) -> str:
        text = f"<= {self.reproduced:g}"
        return text + (f" (partly: <= {self.partly:g})" if self.partly is not None else "")


@dataclasses.dataclass(frozen=True)
class Within(Criterion):
    """Reproduced when |value - target| <= tolerance; partly within ``partly_tolerance``."""

    target: float
    tolerance: float
    partly_tolerance: float | None = None

    def _judge(self, value: Any) -> Verdict:
        gap = abs(_number(value) - self.target)
        if gap <= self.tolerance:
            return "reproduced"
        if self.partly_tolerance is not None and gap <= self.partly_tolerance:
            return "partly"
        return "not reproduced"

    def describe(self) -> str:
        text = f"within {self.tolerance:g} of {self.target:g}"
        if self.partly_tolerance is not None:
            text += f" (partly: within {self.partly_tolerance:g})"
        return text


@dataclasses.dataclass(frozen=True)
class IsTrue(Criterion):
    """Reproduced when the measured value is True (for qualitative yes/no claims)."""

    def _judge(self, value: Any) -> Verdict:
        if not isinstance(value, bool):
            raise TypeError(f"IsTrue needs a bool, got {value!r}")
        return "reproduced" if value else "not reproduced"

    def describe(self) -> str:
        return "holds (yes/no)"


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of a paper, our measurement of it, and the verdict its criterion gives."""

    id: str
    source: str  # where in the paper: "Table 1", "Fig. 5", "Section 5.3"
    statement: str
    paper: Any  # the paper's value as reported (number or short text)
    ours: Any  # our measured value; None when the experiment did not run
    criterion: Criterion

    @property
    def verdict(self) -> Verdict:
        return self.criterion.verdict(self.ours)

    def to_dict(self) -> dict[str, Any]:
        ours = self.ours
        if hasattr(ours, "item"):  # numpy / torch scalars
            ours = ours.item()
        if isinstance(ours, float) and math.isnan(ours):
            ours = None
        return {
            "id": self.id,
            "source": self.source,
            "statement": self.statement,
            "paper": self.paper,
            "ours": ours,
            "criterion": self.criterion.describe(),
            "verdict": self.verdict,
        }


_VERDICT_COLOURS = {
    "reproduced": "#2e7d32",
    "partly": "#ef6c00",
    "not reproduced": "#c62828",
    "not run": "#616161",
}


def format_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def claims_markdown(rows: list[dict[str, Any]], with_paper_column: bool = False) -> str:
    """A Markdown table of claim dicts (as stored in metadata)."""
    head = ["claim", "source", "statement", "paper", "ours", "criterion", "verdict"]
    if with_paper_column:
        head = ["chapter", *head]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.get("chapter", "")] if with_paper_column else []
        cells += [
            row["id"],
            row["source"],
            row["statement"],
            format_value(row["paper"]),
            format_value(row["ours"]),
            row["criterion"],
            f"**{row['verdict']}**",
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


def claims_html(rows: list[dict[str, Any]]) -> str:
    head = ["claim", "source", "statement", "paper", "ours", "criterion", "verdict"]
    out = ['<table class="sensorimotor-claims"><thead><tr>']
    out += [f"<th>{h}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        colour = _VERDICT_COLOURS[row["verdict"]]
        cells = [row["id"], row["source"], row["statement"], format_value(row["paper"]), format_value(row["ours"]), row["criterion"]]
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells))
        out.append(f'<td style="color:{colour};font-weight:bold">{row["verdict"]}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def show_claims(claims: list[Claim]) -> list[dict[str, Any]]:
    """Display the claims table in a notebook and attach the claims to the output's metadata.

    Returns the claim dicts. Claim ids must be unique.
    """
    ids = [c.id for c in claims]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate claim ids: {duplicates}")
    rows = [c.to_dict() for c in claims]
    from IPython.display import display

    bundle = {"text/html": claims_html(rows), "text/markdown": claims_markdown(rows), "text/plain": claims_markdown(rows)}
    display(bundle, raw=True, metadata={CLAIMS_METADATA_KEY: {"claims": rows}})
    return rows
