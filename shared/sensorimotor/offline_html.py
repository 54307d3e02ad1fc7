"""The built book must load nothing from the network: no remote script, stylesheet or font.

``python -m sensorimotor.offline_html book/_build/html`` lists every ``<script src=...>`` and
``<link href=...>`` (stylesheets, preloads, icons) in the built HTML that points off the machine, and
exits 1 if there is one; the nox ``tests`` and ``book`` sessions run it after the build.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

REMOTE_PREFIXES = ("http://", "https://", "//")
LOADED_LINKS = frozenset({"stylesheet", "preload", "modulepreload", "icon", "prefetch"})


class _AssetParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.remote: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script" and values.get("src", "").startswith(REMOTE_PREFIXES):
            self.remote.append(f"<script src={values['src']}>")
        rel = set(values.get("rel", "").lower().split())
        if tag == "link" and rel & LOADED_LINKS and values.get("href", "").startswith(REMOTE_PREFIXES):
            self.remote.append(f"<link rel={values['rel']} href={values['href']}>")


def remote_assets(html: str) -> list[str]:
    """The scripts and stylesheets (also preloads, icons) that ``html`` loads from the network."""
    parser = _AssetParser()
    parser.feed(html)
    parser.close()
    return parser.remote


def remote_assets_in(folder: Path) -> list[str]:
    """``"page.html: <script src=https://...>"`` for every remote asset of every page under ``folder``."""
    found = []
    for page in sorted(Path(folder).rglob("*.html")):
        found += [
            f"{page.relative_to(folder)}: {asset}"
            for asset in remote_assets(page.read_text(errors="replace"))
        ]
    return found


def _main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0] if args else "book/_build/html")
    if not any(folder.rglob("*.html")):
        print(f"error: no built HTML under {folder}: build the book first", file=sys.stderr)
        return 2
    found = remote_assets_in(folder)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(_main())
