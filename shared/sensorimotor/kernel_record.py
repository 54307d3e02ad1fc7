"""The last cell of every chapter run: what the kernel ran on, attached as output metadata.

The pipeline appends a cell calling :func:`kernel_provenance` to the notebook it executes, reads the
record back and strips the cell from the report.
"""

from __future__ import annotations

from typing import Any

from sensorimotor.cache import cache_events
from sensorimotor.provenance import PROVENANCE_METADATA_KEY, imported_module_hashes


def kernel_provenance() -> dict[str, Any]:
    """Library module hashes of this kernel and its cache events; displayed as (empty) metadata."""
    from IPython.display import display

    record = {"modules": imported_module_hashes(), "cache_events": cache_events()}
    display({"text/plain": ""}, raw=True, metadata={PROVENANCE_METADATA_KEY: record})
    return record
