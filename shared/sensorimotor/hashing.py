"""Stable hashes of plain values, for cache keys and seeds (no library imports: a leaf module)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any


def config_hash(payload: Mapping[str, Any] | Any, length: int = 16) -> str:
    """A stable hash of a config (a dataclass such as a chapter config, or a mapping of knobs) for cache keys."""
    if dataclasses.is_dataclass(payload) and not isinstance(payload, type):
        payload = dataclasses.asdict(payload)
    text = json.dumps(payload, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]
