"""Sessions: tests (what CI runs), notebooks, book, replicate-<chapter>, replicate-all, bench, lint.

Each session creates its own virtual environment once and reuses it (``nox -s tests``). Torch is
pinned by ``constraints.txt``: the CPU build where a local wheel exists, PyPI's usual build elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

CHAPTERS = sorted(
    p.name for p in (ROOT / "replications").glob("*") if p.is_dir() and (p / f"{p.name}.md").is_file()
)
DEMO_NOTEBOOK = "tests/notebooks/pipeline_demo/pipeline_demo.md"


def _session_name(chapter: str) -> str:
    return "replicate-" + chapter.replace("_", "-")


def _requested_sessions(argv: list[str]) -> list[str]:
    names, taking = [], False
    for arg in argv[1:]:
        if arg == "--":
            break
        if taking and not arg.startswith("-"):
            names.append(arg)
            continue
        taking = arg in ("-s", "--session", "--sessions", "-e")
        if arg.startswith(("--session=", "--sessions=")):
            names.extend(arg.split("=", 1)[1].split(","))
    return names


_unknown = [
    n for n in _requested_sessions(sys.argv) if n.startswith("replicate-") and n not in {"replicate-all", *map(_session_name, CHAPTERS)}
]
if _unknown:
    valid = ", ".join(_session_name(c) for c in CHAPTERS) or "(no chapters yet)"
    sys.exit(f"error: unknown chapter session {_unknown[0]!r}; valid: {valid}, replicate-all")


def install(session: nox.Session, extras: str = "dev") -> None:
    session.install("-c", "constraints.txt", "-e", f".[{extras}]")


def _extras(posargs: list[str]) -> str:
    """``dev``, plus ``cluster`` (Ray) when the options after ``--`` ask for ``--executor ray``."""
    ray = any(a == "--executor=ray" for a in posargs) or any(
        a == "--executor" and b == "ray" for a, b in zip(posargs, posargs[1:], strict=False)
    )
    return "dev,cluster" if ray else "dev"


def _smoke_notebooks(session: nox.Session) -> list[str]:
    session.run("python", "-m", "sensorimotor.pipeline", "prepare-smoke", DEMO_NOTEBOOK)
    demo = DEMO_NOTEBOOK.replace(".md", ".smoke.ipynb")
    return [demo, *(f"replications/{c}/{c}.smoke.ipynb" for c in CHAPTERS)]


def _pytest(session: nox.Session, *args: str) -> None:
    code = session.run(
        "pytest", "--nbval-current-env", "--nbval-cell-timeout=900", *args, success_codes=[0, 5]
    )
    if code == 5:
        session.error("pytest collected no tests: check the paths and the test files")


def _build_book(session: nox.Session) -> None:
    session.run("python", "-m", "sensorimotor.pipeline", "summary", "--check")
    session.run("jupyter-book", "build", "book/", "--all", "-W", "-n", "--keep-going")
    session.run("python", "-m", "sensorimotor.offline_html", "book/_build/html")  # no CDN: the book reads offline


@nox.session
def tests(session: nox.Session) -> None:
    """Everything CI checks: unit tests (the jobs layer on a local Ray too), report freshness, every
    notebook at smoke (nbval), the book."""
    install(session, "dev,cluster")
    notebooks = _smoke_notebooks(session)
    _pytest(session, "tests", "--nbval-lax", *notebooks, *session.posargs)
    _build_book(session)


@nox.session
def notebooks(session: nox.Session) -> None:
    """Every chapter notebook (and the pipeline demo) at the smoke profile under nbval."""
    install(session)
    _pytest(session, "--nbval-lax", *_smoke_notebooks(session), *session.posargs)


@nox.session
def book(session: nox.Session) -> None:
    """Render the book (HTML under book/_build/html) from the committed reports."""
    install(session)
    _build_book(session)


def _make_replicate(chapter: str):
    def replicate(session: nox.Session) -> None:
        install(session, _extras(session.posargs))
        session.run("python", "-m", "sensorimotor.pipeline", "replicate", chapter, *session.posargs)

    replicate.__doc__ = f"Run the {chapter} chapter (default profile) and write book/chapters/{chapter}.ipynb."
    return replicate


for _chapter in CHAPTERS:
    nox.session(name=_session_name(_chapter))(_make_replicate(_chapter))


@nox.session(name="replicate-all")
def replicate_all(session: nox.Session) -> None:
    """Run every chapter in turn (same options for all, e.g. `-- --profile smoke`)."""
    install(session, _extras(session.posargs))
    for chapter in CHAPTERS:
        session.run("python", "-m", "sensorimotor.pipeline", "replicate", chapter, *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmarks/bench_*.py and print its figures (bench_jobs compares local and Ray)."""
    install(session, "dev,cluster")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.log(f"== {script.name}")
        session.run("python", str(script.relative_to(ROOT)), *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the library, tests, chapters' configs, benchmarks and this file."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "shared", "tests", "replications", "benchmarks", "noxfile.py")
