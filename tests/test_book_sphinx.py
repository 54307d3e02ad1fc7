"""The book's Sphinx extension: figures' images get their caption as alt text."""

from __future__ import annotations

from docutils import nodes

from sensorimotor.book_sphinx import add_alt_text, alt_from_caption


def _figure(caption: str | None, alt: str | None = None) -> nodes.figure:
    image = nodes.image(uri="_images/3f2a9c.png", **({"alt": alt} if alt else {}))
    figure = nodes.figure("", image)
    if caption is not None:
        figure += nodes.caption(text=caption)
    return figure


def test_an_image_without_alt_text_gets_its_figure_caption():
    doc = nodes.section("", _figure("Recognition over   training\nsteps, three seeds."))
    assert add_alt_text(doc) == 1
    assert next(iter(doc.findall(nodes.image)))["alt"] == "Recognition over training steps, three seeds."


def test_existing_alt_text_and_uncaptioned_figures_are_left_alone():
    doc = nodes.section("", _figure("A caption.", alt="written by hand"), _figure(None))
    assert add_alt_text(doc) == 0
    alts = [image.get("alt") for image in doc.findall(nodes.image)]
    assert alts == ["written by hand", None]


def test_a_long_caption_is_cut_at_a_word_with_an_ellipsis():
    caption = "word " * 100
    alt = alt_from_caption(caption.strip(), limit=40)
    assert len(alt) <= 40 and alt.endswith("…") and not alt[:-1].endswith(" ")
    assert alt_from_caption("short", limit=40) == "short"
