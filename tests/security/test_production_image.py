"""The production image ships neither the provider stand-ins (with their demo credentials)
nor ``make run``'s commands, and production settings refuse the demo account.

No Docker daemon runs here, so the image's files are computed as ``docker build`` would copy
them: the Dockerfile's ``COPY`` sources minus what ``.dockerignore`` leaves out."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.server_process import REPO_ROOT, clean_env, production_env


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            return True
    return False


def image_files() -> set[str]:
    ignore = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files: set[str] = set()
    for line in (REPO_ROOT / "Dockerfile").read_text().splitlines():
        if not line.startswith("COPY ") or "--from" in line:
            continue
        *sources, _dest = line.split()[1:]
        for source in sources:
            root = REPO_ROOT / source
            found = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
            for path in found:
                relative = path.relative_to(REPO_ROOT).as_posix()
                if not _ignored(relative, ignore):
                    files.add(relative)
    return files


def test_the_image_leaves_out_the_sandbox_and_the_development_commands():
    files = image_files()
    assert {"unify/settings/base.py", "manage.py", "unify/gunicorn_config.py",
            "unify/core/management/commands/rotate_encryption_keys.py"} <= files  # fmt: skip
    for left_out in ("sandbox/", "unify/devtools/", "tests/", "bench/", ".venv/", ".data/"):
        assert not [f for f in files if f.startswith(left_out)], left_out
    assert not [f for f in files if "demo_setup" in f or "run_embedded" in f]
    assert not [f for f in files if "__pycache__" in f]


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = clean_env(
        **production_env(
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            redis_url="",
        ),
        **env,
    )
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=environment,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


@pytest.mark.parametrize("command", ["demo_setup", "run_embedded"])
def test_production_settings_do_not_know_the_development_commands(tmp_path, command):
    result = _manage(tmp_path, command, DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert f"Unknown command: '{command}'" in result.stderr


@pytest.mark.django_db
def test_demo_setup_refuses_without_debug_mode(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="demo_setup only runs in debug mode"):
        call_command("demo_setup")
    assert not get_user_model().objects.filter(username="demo").exists()
