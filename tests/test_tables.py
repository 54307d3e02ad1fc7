"""Markdown tables for the chapters' per-seed readings."""

import pytest

from sensorimotor.tables import markdown_table


def test_a_table_has_its_header_alignment_and_escaped_cells():
    text = markdown_table(["seed", "ratio"], [[0, "1.2"], [1, "a|b"]])
    assert text.splitlines() == ["| seed | ratio |", "|---|---:|", "| 0 | 1.2 |", "| 1 | a\\|b |"]


@pytest.mark.parametrize(("rows", "align", "message"), [([[1]], None, "has 1 cells"), ([[1, 2]], "lx", "align='lx'")])
def test_a_malformed_table_is_refused(rows, align, message):
    with pytest.raises(ValueError, match=message):
        markdown_table(["a", "b"], rows, align)
