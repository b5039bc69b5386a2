"""``all_orgs`` reads every organization's rows past the fail-closed scope. Outside the admin,
migrations, management commands and tooling, each use is listed, per file, in
``all_orgs_allowlist.txt``: a new use fails here until it is argued for in review (prefer
``.objects`` inside ``org_scope()``, ``with_org_scope`` for tasks, or
``Model.objects.for_org(org)``), and a use removed must come off the list, so it only
shrinks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWLIST = Path(__file__).with_name("all_orgs_allowlist.txt")
USE = re.compile(r"\.all_orgs\b")
# Tooling and framework places where reading across organizations is the point.
EXEMPT_DIRS = {".venv", "tests", "bench", "scripts", "migrations", "node_modules", ".git"}
EXEMPT_FILES = {"admin.py"}


def _exempt(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    if set(parts[:-1]) & EXEMPT_DIRS or path.name in EXEMPT_FILES:
        return True
    return "management" in parts and "commands" in parts


def _uses() -> dict[str, int]:
    found: dict[str, int] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if _exempt(path):
            continue
        count = len(USE.findall(path.read_text(encoding="utf-8")))
        if count:
            found[path.relative_to(ROOT).as_posix()] = count
    return found


def _allowed() -> dict[str, int]:
    allowed: dict[str, int] = {}
    for line in ALLOWLIST.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            path, count = entry.rsplit(None, 1)
            allowed[path] = int(count)
    return allowed


def test_no_new_all_orgs_use_outside_the_allowlist():
    allowed = _allowed()
    new = {path: count for path, count in _uses().items() if count > allowed.get(path, 0)}
    assert not new, (
        f"new all_orgs uses (file: uses now): {new}. Inside org_scope() use .objects; in a "
        "task, @with_org_scope; for one organization's rows, Model.objects.for_org(org). "
        f"Only when none fits, raise the count in {ALLOWLIST.name} with a reason."
    )


def test_the_allowlist_shrinks_with_the_code():
    uses = _uses()
    stale = {path: count for path, count in _allowed().items() if uses.get(path, 0) < count}
    assert not stale, (
        f"{ALLOWLIST.name} allows more all_orgs uses than these files have (file: allowed): "
        f"{stale}. Lower their counts to { ({p: uses.get(p, 0) for p in stale}) }."
    )


def test_the_allowlist_check_sees_a_use():
    """The scan itself works: the allowlist's files are found and counted."""
    uses = _uses()
    assert uses, "no all_orgs use found at all: the scan looks in the wrong place"
    assert "connections/selectors.py" not in uses
    assert not any(_exempt(ROOT / path) for path in uses)
    assert _exempt(ROOT / "sales" / "admin.py")
    assert _exempt(ROOT / "sales" / "migrations" / "0001_initial.py")
    assert _exempt(ROOT / "unify" / "core" / "management" / "commands" / "x.py")
