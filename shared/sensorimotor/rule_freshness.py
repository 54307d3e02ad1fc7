"""What a committed report's claims must satisfy against its chapter's rules and ``rules.lock``.

A chapter's ``config.py`` declares ``RULES`` (claim id -> :class:`sensorimotor.verdicts.Rule`), each
registered in the chapter's lock (:mod:`sensorimotor.prereg`). :func:`claim_problems` checks that every
stored claim is a schema-2 claim, that its stored verdict is what its stored values and rule give, that
the rule is the one ``config.py`` declares for that claim (not merely some declared rule), that it shows
the lock's amendments, and that every declared rule is registered and reported. A config without
``RULES``, or a report whose claims lack ``"schema": 2``, is a problem: no other kind of rule or claim
is judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sensorimotor.prereg import LockError, amendments, declared_rules, load_lock, lock_path, lock_problems
from sensorimotor.verdicts import SCHEMA, stored_problems


def claim_problems(chapter_folder: Path, module: Any, stored: list[Mapping[str, Any]]) -> list[str]:
    """Why the stored claims of a report disagree with their rules, the config or the lock (empty if none)."""
    try:
        declared = declared_rules(module)
    except LockError as error:
        return [f"{error}: no claim of this chapter can be judged; declare its rules there and register them "
                "(python -m sensorimotor.prereg register ...)"]  # fmt: skip
    path = lock_path(chapter_folder)
    try:
        lock = load_lock(path) if path.exists() else None
    except LockError as error:
        return [str(error)]
    if lock is None:
        problems = [f"{path} is missing: register the chapter's RULES (python -m sensorimotor.prereg register ...)"]
    else:
        problems = lock_problems(lock, declared)
    for row in stored:
        if row.get("schema") != SCHEMA:
            problems.append(f"claim {row.get('id')!r} is not a schema-{SCHEMA} claim (sensorimotor.verdicts): "
                            "rerun the chapter")  # fmt: skip
            continue
        problems += stored_problems(row)
        if row["id"] not in declared:
            problems.append(f"claim {row['id']}: config.py declares no rule for it in RULES")
        elif row["rule"] != declared[row["id"]]:
            problems.append(f"claim {row['id']}: it was judged by a rule other than the one config.py declares for it")
        if lock is not None and row["id"] in lock["claims"] and row.get("amendments") != amendments(lock, row["id"]):
            problems.append(f"claim {row['id']}: its amendments differ from {path.name}'s: rerun the chapter")
    missing = sorted(set(declared) - {row.get("id") for row in stored})
    if missing:
        problems.append(f"claims declared in RULES but not in the report: {missing}")
    return problems
