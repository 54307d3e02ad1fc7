"""What a committed report's claims must satisfy against its chapter's rules and ``rules.lock``.

Two kinds of stored claims coexist while chapters move to replication statistics: schema-2 claims
(:mod:`sensorimotor.verdicts`, rules in ``config.RULES``) and first-schema claims
(:mod:`sensorimotor.claims`, rules anywhere in ``config.py``). For both, :func:`claim_problems` checks
that each stored verdict is what its stored values and rule give, that the rule is the one ``config.py``
declares for that claim (not merely some declared rule), and that it is the one registered in the
chapter's lock or an amendment of it; schema-2 claims must also show the lock's amendments.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sensorimotor.claims import ClaimError, Criterion, recompute_verdict
from sensorimotor.claims import Rule as LegacyRule
from sensorimotor.prereg import LockError, amendments, current_sha256, load_lock, lock_path, lock_problems
from sensorimotor.verdicts import SCHEMA, Rule, spec_sha256, stored_problems


def legacy_declared(module: Any) -> list[dict[str, Any]]:
    """Every first-schema rule a chapter config declares (module-level Rules/Criteria, also inside dicts)."""
    found: list[Any] = []
    for value in vars(module).values():
        items = value.values() if isinstance(value, dict) else [value]
        found += [v for v in items if isinstance(v, (LegacyRule, Criterion))]
    return [(v if isinstance(v, LegacyRule) else LegacyRule(v)).to_spec() for v in found]


def declared_by_id(module: Any) -> dict[str, dict[str, Any]]:
    """A migrated chapter's rules by claim id (``config.RULES``); empty for a first-schema chapter."""
    rules = getattr(module, "RULES", None)
    if not isinstance(rules, Mapping):
        return {}
    return {claim_id: rule.to_spec() for claim_id, rule in rules.items() if isinstance(rule, Rule)}


def _legacy_row_problems(row: Mapping[str, Any], declared: list[dict[str, Any]], config_name: str) -> list[str]:
    try:
        verdict, failed = recompute_verdict(row)
    except (ClaimError, KeyError, TypeError, ValueError) as error:
        return [f"claim {row.get('id')!r} cannot be re-judged: {error}"]
    problems = []
    if verdict != row["verdict"] or sorted(failed) != sorted(row["failed_checks"]):  # JSON sorts dict keys
        problems.append(f"claim {row['id']}: stored verdict {row['verdict']!r}, its values and rule give {verdict!r}")
    if row["rule"] not in declared:
        problems.append(f"claim {row['id']}: its rule is not one that {config_name} declares")
    return problems


def claim_problems(chapter_folder: Path, module: Any, stored: list[Mapping[str, Any]]) -> list[str]:
    """Why the stored claims of a report disagree with their rules, the config or the lock (empty if none)."""
    problems: list[str] = []
    by_id = declared_by_id(module)
    legacy = legacy_declared(module)
    path = lock_path(chapter_folder)
    try:
        lock = load_lock(path) if path.exists() else None
    except LockError as error:
        return [str(error)]
    for row in stored:
        if row.get("schema") == SCHEMA:
            problems += stored_problems(row)
            if row["id"] not in by_id:
                problems.append(f"claim {row['id']}: config.py declares no rule for it in RULES")
            elif row["rule"] != by_id[row["id"]]:
                problems.append(f"claim {row['id']}: it was judged by a rule other than the one config.py declares for it")
            if lock is not None and row["id"] in lock["claims"] and row.get("amendments") != amendments(lock, row["id"]):
                problems.append(f"claim {row['id']}: its amendments differ from {path.name}'s: rerun the chapter")
        else:
            problems += _legacy_row_problems(row, legacy, "config.py")
            if lock is not None:
                entry = lock["claims"].get(row["id"])
                if entry is None:
                    problems.append(f"claim {row['id']}: its rule is not registered in {path.name}")
                elif spec_sha256(row["rule"]) != current_sha256(entry):
                    problems.append(f"claim {row['id']}: its rule differs from the one registered in {path.name} and "
                                    "no amendment records the change")  # fmt: skip
    if by_id:
        if lock is None:
            problems.append(f"{path} is missing: register the chapter's RULES (python -m sensorimotor.prereg)")
        else:
            problems += lock_problems(lock, by_id)
        missing = sorted(set(by_id) - {row["id"] for row in stored})
        if missing:
            problems.append(f"claims declared in RULES but not in the report: {missing}")
    return problems
