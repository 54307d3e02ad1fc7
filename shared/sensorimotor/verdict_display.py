"""Showing schema-2 claims in a chapter notebook: verdict boxes, the claims table, amendments from the lock.

:func:`show_verdict` closes a claim's section with its box; :func:`show_claims` ends the chapter with
every claim and attaches the claim dicts to the output's metadata, from where the pipeline lifts them
into the report (and fills the chapter's "verdicts at a glance" cell: :mod:`sensorimotor.report_cells`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sensorimotor.prereg import amendments, load_lock
from sensorimotor.verdicts import Claim, glance_html, glance_markdown, ours_text, verdict_box_html

CLAIMS_METADATA_KEY = "sensorimotor"  # the key the pipeline collects claims from
BOX_METADATA_KEY = "sensorimotor-box"


def claim_row(claim: Claim, lock: Mapping[str, Any]) -> dict[str, Any]:
    """The claim's stored dict with its amendments from the lock."""
    return claim.to_dict(amendments=amendments(lock, claim.id))


def show_verdict(claim: Claim, lock_file: Path) -> dict[str, Any]:
    """Display one claim's verdict box (at the end of its section); returns its dict."""
    from IPython.display import display

    row = claim_row(claim, load_lock(lock_file))
    text = f"{row['id']}: paper {row['paper']}, ours {ours_text(row)} -> {row['verdict']} ({row['cause']})"
    display({"text/html": verdict_box_html(row), "text/plain": text}, raw=True, metadata={BOX_METADATA_KEY: row["id"]})
    return row


def show_claims(claims: list[Claim], lock_file: Path) -> list[dict[str, Any]]:
    """Display every claim (answer first: verdict, claim, numbers, reason) and attach them to the output's
    metadata for the report. Claim ids must be unique."""
    from IPython.display import display

    ids = [c.id for c in claims]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate claim ids: {duplicates}")
    lock = load_lock(lock_file)
    rows = [claim_row(c, lock) for c in claims]
    bundle = {"text/html": glance_html(rows), "text/markdown": glance_markdown(rows), "text/plain": glance_markdown(rows)}
    display(bundle, raw=True, metadata={CLAIMS_METADATA_KEY: {"claims": rows}})
    return rows
