"""The generated part of a chapter's README: compute used and results, written from its committed report.

Between the markers :data:`BEGIN` and :data:`END` of ``replications/<chapter>/README.md`` (appended
when absent); ``python -m sensorimotor.pipeline readme [--check]`` writes or checks every chapter's,
and the pipeline rewrites a chapter's after writing its book report. Never edit between the markers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sensorimotor.atomic import atomic_path
from sensorimotor.book_pages import hardware_words, report_training_words, run_words
from sensorimotor.verdicts import format_number, ours_text

BEGIN = "<!-- BEGIN generated from the committed report: do not edit (python -m sensorimotor.pipeline readme) -->"
END = "<!-- END generated -->"


def section_text(meta: Mapping[str, Any], chapter_name: str, session: str) -> str:
    """The generated Markdown: how the report was made and every claim's verdict."""
    cold = meta.get("cold_wall_seconds")
    lines = [
        BEGIN,
        "## Compute used (from the committed report)",
        "",
        f"- Report: `book/chapters/{chapter_name}.ipynb`, profile `{meta.get('profile')}`, seed {meta.get('seed')}, "
        f"commit `{(meta.get('git_commit') or 'unknown')[:10]}`" + (f", run {meta['run_date']}" if meta.get("run_date") else "")
        + ".",
        f"- Run time: {meta.get('wall_seconds', 0) / 60:.1f} min"
        + f" ({run_words(meta)})"
        + ("" if cold is None else f"; cold run: {cold / 60:.1f} min") + ".",
        *([f"- Training: {report_training_words(meta)}."] if meta.get("training") else []),
        f"- Hardware: {hardware_words(meta.get('hardware') or {})}.",
        f"- Rerun: `nox -s {session}`.",
        "",
        "## Results (from the committed report)",
        "",
        "| claim | paper | ours | verdict | why |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    for row in meta.get("claims", []):
        cells = [row["id"] + (" (consistency)" if row.get("kind") == "consistency" else ""), format_number(row.get("paper")),
                 ours_text(row), f"**{row['verdict']}**", row.get("cause") or ""]  # fmt: skip
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    lines += ["", END]
    return "\n".join(lines)


def updated_readme(text: str, section: str) -> str:
    """``text`` with its generated part replaced by ``section`` (appended when there is none)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + section + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + section + "\n"


def write_readme(readme: Path, meta: Mapping[str, Any], chapter_name: str, session: str, check: bool = False) -> bool:
    """Write (or with ``check`` only compare) the README's generated part; whether it was current."""
    text = readme.read_text() if readme.exists() else f"# {chapter_name}\n"
    new = updated_readme(text, section_text(meta, chapter_name, session))
    if new == text:
        return True
    if not check:
        with atomic_path(readme) as tmp:
            tmp.write_text(new)
    return False
