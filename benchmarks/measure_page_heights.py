"""Page heights of the built book at 1280 px in headless Chromium, against the 20,000 px cap (issue 33).

Usage: python benchmarks/measure_page_heights.py [book/_build/html] [--chromium PATH]

Each page is copied beside itself with a script that writes the document's height into its title once
loaded; Chromium's ``--dump-dom`` returns the title. Prints one row per page: height, cap, over or not.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

CAP_PX = 20_000
WIDTH_PX = 1280
PROBE = (
    "<script>window.addEventListener('load', () => setTimeout(() => "
    "{document.title = 'HEIGHT=' + document.documentElement.scrollHeight;}, 500));</script>"
)


def page_height(page: Path, chromium: str) -> int:
    probe = page.with_name(f".height-probe-{page.name}")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>", 1))
    try:
        dom = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={WIDTH_PX},900",
             "--virtual-time-budget=20000", "--dump-dom", probe.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
    finally:
        probe.unlink()
    found = re.search(r"HEIGHT=(\d+)", dom)
    if not found:
        raise RuntimeError(f"{page}: Chromium did not report a height")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", default="book/_build/html", type=Path)
    parser.add_argument(
        "--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser") or ""
    )
    args = parser.parse_args(argv)
    if not args.chromium:
        parser.error("no Chromium found: pass --chromium PATH")
    if not (args.html / "index.html").is_file():
        parser.error(f"{args.html} holds no built book (index.html): run `nox -s book` first")
    pages = sorted(
        p
        for p in args.html.rglob("*.html")
        if "_static" not in p.parts and not p.name.startswith((".", "genindex", "search"))
    )
    print(f"{'page':40s} {'height px':>10s} {'cap px':>8s}")
    over = 0
    for page in pages:
        text = page.read_text()
        if "</body>" not in text or 'http-equiv="refresh"' in text:
            continue  # a redirect (index.html), not a page
        height = page_height(page, args.chromium)
        flag = "  over" if height > CAP_PX else ""
        over += height > CAP_PX
        print(f"{str(page.relative_to(args.html)):40s} {height:10,d} {CAP_PX:8,d}{flag}")
    print(f"{over} pages over the cap")
    return 0


if __name__ == "__main__":
    sys.exit(main())
