"""Nothing in a committed report that a reader did not come for.

Scans every output of every committed chapter report for progress-bar frames, pybullet's C-level
prints, tracebacks, warnings, local absolute paths and empty output boxes.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORTS = sorted((ROOT / "book" / "chapters").glob("*.ipynb"))

JUNK = {
    "progress-bar frame": re.compile(r"\d+%\|[^\n]*\|\s*\d+/\d+|it/s\]|s/it\]"),
    "pybullet print": re.compile(r"argv\[0\]|pybullet build time|startThreads|b3Printf"),
    "traceback": re.compile(r"Traceback \(most recent call last\)"),
    "warning": re.compile(r"\b\w*Warning\b[:(]|warnings\.warn"),
    "absolute path": re.compile(r"(/home/|/root/|/tmp/|/work/|/Users/|site-packages|\.nox/|\.venv/)"),
}


def output_texts(output) -> list[str]:
    """The text a reader sees of one output (stream text, plain text and HTML of display data)."""
    if output.get("output_type") == "stream":
        return [output.get("text", "")]
    if output.get("output_type") == "error":
        return ["Traceback (most recent call last)\n" + "\n".join(output.get("traceback", []))]
    data = output.get("data", {})
    return [str(data[k]) for k in ("text/plain", "text/html", "text/markdown") if k in data]


def junk_in(notebook) -> list[str]:
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            texts = output_texts(output)
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {index}: stderr output {texts[0][:80]!r}")
            visible = "image/png" in output.get("data", {}) or any(t.strip() for t in texts)
            if not visible:
                found.append(f"cell {index}: empty output")
            for text in texts:
                for what, pattern in JUNK.items():
                    match = pattern.search(text)
                    if match:
                        found.append(f"cell {index}: {what}: {text[max(0, match.start() - 40):match.end() + 40]!r}")
    return found


@pytest.mark.parametrize("report", REPORTS, ids=[r.stem for r in REPORTS])
def test_committed_report_holds_no_junk(report):
    problems = junk_in(nbformat.read(report, as_version=4))
    assert not problems, f"{len(problems)} junk outputs in {report.name}:\n" + "\n".join(problems[:20])


def test_the_scanner_finds_each_kind_of_junk():
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="autoencoder:  56%|█████▌    | 2106/3760 [00:10<00:08, 200.1it/s]"),
        nbformat.v4.new_output("stream", name="stdout", text="argv[0]=\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": "TqdmWarning: IProgress not found"}),
        nbformat.v4.new_output("display_data", data={"text/plain": "saved to /root/.cache/x.npz"}),
        nbformat.v4.new_output("display_data", data={"text/plain": ""}),
        nbformat.v4.new_output("error", ename="E", evalue="v", traceback=["boom"]),
    ]
    notebook.cells = [cell]
    kinds = " ".join(junk_in(notebook))
    for what in ("stderr", "progress-bar frame", "pybullet print", "warning", "absolute path", "empty output", "traceback"):
        assert what in kinds, what
    clean = nbformat.v4.new_code_cell("y")
    clean.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "push error 0.2 cm (3 seeds)"})]
    notebook.cells = [clean]
    assert junk_in(notebook) == []


def missing_figures(notebook) -> list[str]:
    """Captioned figures (``mystnb.figure``) that were not drawn.

    A figure cell that printed something but drew no image is a failure; one with no output at all is a
    figure whose experiment did not run (e.g. the DMBN authors'-data figures without their data). A report
    whose figure cells drew no image at all lost its figures (as under ``MPLBACKEND=Agg``).
    """
    missing, drawn, declared = [], 0, 0
    for index, cell in enumerate(notebook.cells):
        name = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
        if not name:
            continue
        declared += 1
        outputs = cell.get("outputs", [])
        images = [o for o in outputs if any(k.startswith("image/") for k in o.get("data", {}))]
        drawn += bool(images)
        if outputs and not images:
            missing.append(f"cell {index}: figure {name} printed output but drew no image")
    if declared and not drawn:
        missing.append(f"none of the {declared} captioned figures was drawn")
    return missing


@pytest.mark.parametrize("report", REPORTS, ids=[r.stem for r in REPORTS])
def test_every_captioned_figure_was_drawn(report):
    problems = missing_figures(nbformat.read(report, as_version=4))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("report", REPORTS, ids=[r.stem for r in REPORTS])
def test_report_metadata_holds_no_local_paths(report):
    text = report.read_text()
    match = JUNK["absolute path"].search(text)
    assert match is None, f"{report.name}: {text[max(0, match.start() - 60):match.end() + 60]!r}"
