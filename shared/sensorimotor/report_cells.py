"""Cells of a chapter report that the pipeline fills after the run: the verdicts at a glance and the
provenance box. A chapter marks them with a tag (:data:`GLANCE_TAG`, :data:`PROVENANCE_TAG`) on a
placeholder cell near its top; the pipeline writes their outputs from the collected claims and the
report's metadata, so the answer comes first although the notebook computes it last."""

from __future__ import annotations

import datetime
import html
from collections.abc import Mapping
from typing import Any

from sensorimotor.book_pages import hardware_words, report_training_words, run_words
from sensorimotor.verdicts import SCHEMA, glance_html, glance_markdown

GLANCE_TAG = "verdicts-at-a-glance"
PROVENANCE_TAG = "provenance-box"


def _tagged(notebook: Any, tag: str) -> list[Any]:
    return [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]


def _set_output(cells: list[Any], html_text: str, plain: str) -> None:
    import nbformat

    output = nbformat.v4.new_output("display_data", data={"text/html": html_text, "text/plain": plain})
    for cell in cells:
        cell["outputs"] = [output]


def fill_glance(notebook: Any, rows: list[Mapping[str, Any]]) -> bool:
    """Write the schema-2 claims at a glance into the cell tagged :data:`GLANCE_TAG`; whether there is one."""
    cells = _tagged(notebook, GLANCE_TAG)
    schema2 = [r for r in rows if r.get("schema") == SCHEMA]
    _set_output(cells, glance_html(schema2), glance_markdown(schema2))
    return bool(cells)


def provenance_rows(meta: Mapping[str, Any], rerun: str) -> list[tuple[str, str]]:
    """The provenance box's rows from a report's metadata."""
    cold = meta.get("cold_wall_seconds")
    commit = (meta.get("git_commit") or "unknown")[:10] + (" (with uncommitted changes)" if meta.get("git_dirty") else "")
    return [
        ("rerun", rerun),
        ("profile, seed", f"{meta.get('profile')}, {meta.get('seed')}"),
        ("code", f"commit {commit}"),
        ("run", f"{meta.get('run_date', 'unknown date')}, {meta.get('wall_seconds', 0) / 60:.1f} min"
                + f" ({run_words(meta)})"),
        ("cold run", "not measured" if cold is None else f"{cold / 60:.1f} min"),
        *([("training", report_training_words(meta))] if meta.get("training") else []),
        ("hardware", hardware_words(meta.get("hardware") or {})),
        ("packages", ", ".join(f"{k} {v}" for k, v in sorted((meta.get("packages") or {}).items()) if v)),
    ]  # fmt: skip


def fill_provenance(notebook: Any, meta: Mapping[str, Any], rerun: str) -> bool:
    """Write the provenance box into the cell tagged :data:`PROVENANCE_TAG`; whether there is one."""
    cells = _tagged(notebook, PROVENANCE_TAG)
    rows = provenance_rows(meta, rerun)
    body = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
                   f"<td><code>{html.escape(v)}</code></td></tr>" if k == "rerun" else
                   f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                   for k, v in rows)  # fmt: skip
    box = ('<details class="sensorimotor-provenance"><summary>How this page was made (provenance)</summary>'
           f'<table style="font-size:85%">{body}</table></details>')  # fmt: skip
    _set_output(cells, box, "\n".join(f"{k}: {v}" for k, v in rows))
    return bool(cells)


def today() -> str:
    return datetime.date.today().isoformat()
