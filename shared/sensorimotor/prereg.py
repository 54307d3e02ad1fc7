"""The preregistration lock: each claim's rule, registered with a date before the run that judges it.

``replications/<chapter>/rules.lock`` is JSON::

    {"chapter": "som_ae",
     "claims": {"som-ae-m1-m1": {"registered": "2026-12-07", "sha256": "<hash of the rule's spec>",
                                 "first_seen": "2026-11-20", "amendments": [...]}}}

An amendment records a rule changed after registration: ``date``, ``old`` -> ``new`` (in words),
``why``, ``known`` (which values were known then), ``verdict_then`` (the verdict the claim had under
the old rule in the last report, where one existed) and ``sha256`` (the new rule's hash; absent for
changes made before the lock existed, reconstructed from the project's history). A rule's current
hash is its last amendment's, else its registration's. :func:`lock_problems` lists every declared rule
that differs from the lock without an amendment; the chapters show amendments beside their claims.

Command line::

    python -m sensorimotor.prereg amend replications/som_ae CLAIM_ID --why "..." --known "..." \
        --old "..." --new "..." [--verdict-then VERDICT]
    python -m sensorimotor.prereg register replications/som_ae CLAIM_ID
"""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sensorimotor.atomic import atomic_path
from sensorimotor.verdicts import Rule, spec_sha256

LOCK_NAME = "rules.lock"
AMENDMENT_FIELDS = ("date", "old", "new", "why", "known")


class LockError(ValueError):
    """A lock file or an amendment that cannot be read or accepted."""


def lock_path(chapter_folder: Path) -> Path:
    return Path(chapter_folder) / LOCK_NAME


def load_lock(path: Path) -> dict[str, Any]:
    """The lock at ``path``; a clear error when it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise LockError(f"no rules lock at {path}: register the chapter's rules first (python -m sensorimotor.prereg)")
    try:
        lock = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise LockError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(lock, dict) or not isinstance(lock.get("claims"), dict):
        raise LockError(f"{path}: expected an object with a 'claims' mapping")
    for claim_id, entry in lock["claims"].items():
        if not {"registered", "sha256"} <= set(entry):
            raise LockError(f"{path}: claim {claim_id!r} lacks 'registered' or 'sha256'")
        for amendment in entry.get("amendments", []):
            missing = [f for f in AMENDMENT_FIELDS if f not in amendment]
            if missing:
                raise LockError(f"{path}: an amendment of {claim_id!r} lacks {missing}")
    return lock


def save_lock(path: Path, lock: Mapping[str, Any]) -> None:
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(lock, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def current_sha256(entry: Mapping[str, Any]) -> str:
    """The hash the claim's rule must have now: its last hashed amendment's, else its registration's."""
    for amendment in reversed(entry.get("amendments", [])):
        if amendment.get("sha256"):
            return amendment["sha256"]
    return entry["sha256"]


def lock_problems(lock: Mapping[str, Any], declared: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every claim whose declared rule spec differs from the lock without an amendment, or is unregistered."""
    problems = []
    claims = lock["claims"]
    for claim_id, spec in declared.items():
        if claim_id not in claims:
            problems.append(f"claim {claim_id}: its rule is not registered in {LOCK_NAME}")
        elif spec_sha256(spec) != current_sha256(claims[claim_id]):
            problems.append(f"claim {claim_id}: its rule differs from the one registered in {LOCK_NAME} and no "
                            "amendment records the change (python -m sensorimotor.prereg amend ...)")  # fmt: skip
    for claim_id in sorted(set(claims) - set(declared)):
        problems.append(f"claim {claim_id}: registered in {LOCK_NAME} but no longer declared")
    return problems


def amendments(lock: Mapping[str, Any], claim_id: str) -> list[dict[str, Any]]:
    """A claim's amendments as shown to the reader (without hashes)."""
    entry = lock["claims"].get(claim_id)
    if entry is None:
        raise LockError(f"claim {claim_id!r} is not registered in the lock")
    keep = (*AMENDMENT_FIELDS, "verdict_then", "reconstructed")
    return [{k: a[k] for k in keep if k in a} for a in entry.get("amendments", [])]


def register(lock: dict[str, Any], claim_id: str, spec: Mapping[str, Any], date: str | None = None) -> None:
    """Register a new claim's rule (refused when the claim is registered already)."""
    if claim_id in lock["claims"]:
        raise LockError(f"claim {claim_id!r} is registered already: record a change with amend")
    lock["claims"][claim_id] = {"registered": date or _today(), "sha256": spec_sha256(spec), "amendments": []}


def amend(lock: dict[str, Any], claim_id: str, spec: Mapping[str, Any], *, old: str, new: str, why: str, known: str,
          verdict_then: str | None = None, date: str | None = None) -> None:  # fmt: skip
    """Record that a registered claim's rule changed to ``spec``, with the reason and what was known."""
    entry = lock["claims"].get(claim_id)
    if entry is None:
        raise LockError(f"claim {claim_id!r} is not registered: register it instead")
    for name, text in (("old", old), ("new", new), ("why", why), ("known", known)):
        if not text.strip():
            raise LockError(f"an amendment needs a non-empty {name!r}")
    if spec_sha256(spec) == current_sha256(entry):
        raise LockError(f"claim {claim_id!r}: the rule is unchanged; nothing to amend")
    entry.setdefault("amendments", []).append({"date": date or _today(), "old": old, "new": new, "why": why,
                                               "known": known, "verdict_then": verdict_then, "sha256": spec_sha256(spec)})  # fmt: skip


def _today() -> str:
    return datetime.date.today().isoformat()


def declared_rules(config_module: Any) -> dict[str, dict[str, Any]]:
    """A migrated chapter's declared rules: ``RULES`` (claim id -> :class:`~sensorimotor.verdicts.Rule`) as specs."""
    rules = getattr(config_module, "RULES", None)
    if not isinstance(rules, Mapping) or not all(isinstance(r, Rule) for r in rules.values()):
        raise LockError("config.py declares no RULES mapping of claim id -> verdicts.Rule")
    return {claim_id: rule.to_spec() for claim_id, rule in rules.items()}


def _main(argv: Sequence[str] | None = None) -> int:
    from sensorimotor.profiles import load_chapter_module

    parser = argparse.ArgumentParser(prog="python -m sensorimotor.prereg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("register", "amend"):
        p = sub.add_parser(name)
        p.add_argument("chapter_folder", type=Path)
        p.add_argument("claim_id")
        if name == "amend":
            for field in ("old", "new", "why", "known"):
                p.add_argument(f"--{field}", required=True)
            p.add_argument("--verdict-then", default=None)
    args = parser.parse_args(argv)
    module = load_chapter_module(args.chapter_folder / "config.py")
    spec = declared_rules(module).get(args.claim_id)
    if spec is None:
        parser.error(f"config.py declares no rule for {args.claim_id!r}")
    path = lock_path(args.chapter_folder)
    lock = load_lock(path) if path.exists() else {"chapter": args.chapter_folder.name, "claims": {}}
    if args.command == "register":
        register(lock, args.claim_id, spec)
    else:
        amend(lock, args.claim_id, spec, old=args.old, new=args.new, why=args.why, known=args.known,
              verdict_then=args.verdict_then)  # fmt: skip
    save_lock(path, lock)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
