"""A small Sphinx extension for the book: every figure's image gets its caption as alt text.

Jupyter Book's executed-notebook figures carry a caption but no alt text, so a screen reader (or a page
whose image failed to load) gets a hashed file name. Enabled in ``_config.yml`` under
``sphinx: extra_extensions``.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes

MAX_ALT_CHARACTERS = 300


def caption_text(figure: nodes.figure) -> str:
    """The figure's caption as plain text on one line ('' when it has none)."""
    for child in figure.children:
        if isinstance(child, nodes.caption):
            return " ".join(child.astext().split())
    return ""


def alt_from_caption(caption: str, limit: int = MAX_ALT_CHARACTERS) -> str:
    """A caption shortened to ``limit`` characters at a word boundary, with an ellipsis when cut."""
    if len(caption) <= limit:
        return caption
    cut = caption[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def add_alt_text(doctree: nodes.Node) -> int:
    """Give each image inside a captioned figure that has no alt text its caption; returns how many."""
    changed = 0
    for figure in doctree.findall(nodes.figure):
        caption = caption_text(figure)
        if not caption:
            continue
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = alt_from_caption(caption)
                changed += 1
    return changed


def _on_doctree_read(app: Any, doctree: nodes.document) -> None:
    add_alt_text(doctree)


def setup(app: Any) -> dict[str, Any]:
    app.connect("doctree-read", _on_doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
