"""Dependency bounds and ``make audit`` (pip-audit over the installed environment)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import audit  # noqa: E402


def _requirement(name: str) -> Requirement:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    return next(r for r in wanted if r.name == name)


def test_cryptography_is_allowed_up_to_the_current_major():
    spec = _requirement("cryptography").specifier
    assert spec.contains("51.0.1") and spec.contains("51.9")
    assert not spec.contains("52.0.0")
    assert spec.contains(version("cryptography"))


def test_make_audit_runs_pip_audit_and_ci_does_not():
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "audit: $(STAMP_DEV)\n\t$(BIN)/python scripts/audit.py" in makefile
    assert "audit" not in (REPO_ROOT / ".ci" / "run").read_text()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert any(r.startswith("pip-audit") for r in project["optional-dependencies"]["dev"])


def test_audit_without_a_reachable_database_says_so_and_passes():
    # Every request goes to a proxy that refuses connections: nothing leaves the machine.
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)}
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    result = subprocess.run(  # noqa: S603
        [sys.executable, "scripts/audit.py"], cwd=REPO_ROOT, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == (
        "pip-audit skipped: the vulnerability database is not reachable from here (no "
        "network). Run `make audit` where it is."
    )


def test_audit_lists_each_vulnerability_with_its_fix():
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.1", "vulns": [
                {"id": "PYSEC-2025-1", "fix_versions": ["5.2.2"], "aliases": []},
                {"id": "GHSA-xxxx", "fix_versions": [], "aliases": []},
            ]},
            {"name": "requests", "version": "2.32.5", "vulns": []},
            {"name": "unify", "skip_reason": "editable"},
        ],
        "fixes": [],
    }  # fmt: skip
    lines, vulnerable = audit.summarize(report)
    assert vulnerable == 1
    assert lines == [
        "django 5.2.1: PYSEC-2025-1 (fixed in 5.2.2)",
        "django 5.2.1: GHSA-xxxx (no fixed version yet)",
        "1 of 2 packages have known vulnerabilities.",
    ]
    assert audit.summarize({"dependencies": [{"name": "x", "version": "1", "vulns": []}]}) == (
        ["No known vulnerabilities in 1 packages."],
        0,
    )
