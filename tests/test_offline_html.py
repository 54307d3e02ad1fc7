"""The built book loads nothing from the network (sensorimotor.offline_html; the nox sessions run it on the
built HTML right after each build)."""

from __future__ import annotations

from pathlib import Path

from sensorimotor.offline_html import _main, remote_assets, remote_assets_in

ROOT = Path(__file__).resolve().parents[1]


def test_remote_scripts_and_stylesheets_are_found():
    page = """<html><head>
    <script defer="defer" src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
    <script src="_static/mathjax/tex-svg.js"></script>
    <link rel="stylesheet" href="//fonts.example.org/a.css">
    <link rel="preload" as="font" href="http://fonts.example.org/a.woff2">
    <link rel="stylesheet" href="_static/sensorimotor.css">
    <link rel="canonical" href="https://example.org/book/">
    <a href="https://doi.org/10.1/x">a link is not a download</a>
    </head></html>"""
    assert remote_assets(page) == [
        "<script src=https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js>",
        "<link rel=stylesheet href=//fonts.example.org/a.css>",
        "<link rel=preload href=http://fonts.example.org/a.woff2>",
    ]


def test_the_command_fails_on_a_remote_asset(tmp_path):
    (tmp_path / "index.html").write_text('<script src="_static/local.js"></script>')
    assert _main([str(tmp_path)]) == 0
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.html").write_text('<script src="https://cdn.example.org/x.js"></script>')
    assert remote_assets_in(tmp_path) == ["sub/page.html: <script src=https://cdn.example.org/x.js>"]
    assert _main([str(tmp_path)]) == 1
    assert _main([str(tmp_path / "nothing")]) == 2


def test_offline_mathjax_is_configured():
    config = (ROOT / "_config.yml").read_text()
    assert "mathjax_path: mathjax/tex-svg.js" in config
    assert (ROOT / "book" / "_mathjax" / "_static" / "mathjax" / "tex-svg.js").stat().st_size > 1_000_000
