"""The settings in their two other modes, each booted in a fresh subprocess: production
(``DJANGO_DEBUG=0``) and the embedded default (no DATABASE_URL / REDIS_URL)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

REPO_ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "unify.settings.base",
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": "prod-" + "x9Qv3LmZ7tR2wK8pN4sY6uB1cE5gH0jA" * 2,
    "UNIFY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "unify.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unify_settings_check",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
}


def _clean_env(**overrides: str) -> dict[str, str]:
    """The parent's environment minus everything the settings read, plus ``overrides``."""
    read_by_settings = {
        "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "SECRET_KEY", "UNIFY_ENCRYPTION_KEYS",
        "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "UNIFY_DATA_DIR", "EMAIL_URL",
        "CELERY_BROKER_URL", "CSRF_TRUSTED_ORIGINS", "UNIFY_SITE_URL", "UNIFY_PUBLIC_BASE_URL",
        "UNIFY_RLS",
    }  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in read_by_settings}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(overrides)
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    env = _clean_env(**PRODUCTION_ENV, UNIFY_DATA_DIR=str(tmp_path))
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "System check identified no issues (0 silenced)." in output


def test_production_settings_are_hardened(tmp_path):
    env = _clean_env(**PRODUCTION_ENV, UNIFY_DATA_DIR=str(tmp_path))
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.EMAIL_BACKEND, s.CACHES['default']['BACKEND'], "
        "s.CELERY_BROKER_URL, s.DATABASES['default']['ENGINE'], s.ALLOWED_HOSTS); "
        "from django.db import connection; print(connection.vendor)"
    )
    result = _run(["-c", script], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False", "True", "True", "True", "31536000",
        "django.core.mail.backends.smtp.EmailBackend",
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/9",
        # PostgreSQL through the row-level security backend (unify/tenancy/rls.py).
        "unify.tenancy.postgresql",
        "['unify.example.com']",
        "postgresql",
    ]  # fmt: skip


def test_production_row_level_security_can_only_be_turned_off_explicitly(tmp_path):
    script = (
        "import django; django.setup(); from django.db import connection; "
        "print(connection.settings_dict['ENGINE'], connection.vendor, "
        "hasattr(connection, 'rls_sync'))"
    )
    on = _run(["-c", script], _clean_env(**PRODUCTION_ENV, UNIFY_DATA_DIR=str(tmp_path)))
    assert on.returncode == 0, on.stderr
    assert on.stdout.split() == ["unify.tenancy.postgresql", "postgresql", "True"]
    off = _run(
        ["-c", script],
        _clean_env(**PRODUCTION_ENV, UNIFY_DATA_DIR=str(tmp_path), UNIFY_RLS="0"),
    )
    assert off.returncode == 0, off.stderr
    assert off.stdout.split() == ["django.db.backends.postgresql", "postgresql", "False"]


_SITE_URL = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.UNIFY_SITE_URL)"
)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "https://unify.example.com"),
        ({"ALLOWED_HOSTS": ".example.com,unify.example.com"}, "https://example.com"),
        ({"UNIFY_PUBLIC_BASE_URL": "https://hooks.example.com/"}, "https://hooks.example.com"),
        ({"UNIFY_SITE_URL": "https://app.example.com/"}, "https://app.example.com"),
    ],
)
def test_production_site_url_for_email_links(tmp_path, overrides, expected):
    env = _clean_env(**{**PRODUCTION_ENV, **overrides}, UNIFY_DATA_DIR=str(tmp_path))
    result = _run(["-c", _SITE_URL], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("value", ["http://unify.example.com", "https://*"])
def test_production_refuses_a_site_url_that_is_not_https(tmp_path, value):
    env = _clean_env(**PRODUCTION_ENV, UNIFY_DATA_DIR=str(tmp_path), UNIFY_SITE_URL=value)
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "UNIFY_SITE_URL must be the https address people open Unify at" in result.stderr


def test_development_site_url_is_the_local_server(tmp_path):
    env = _clean_env(
        DJANGO_SETTINGS_MODULE="unify.settings.base",
        UNIFY_DATA_DIR=str(tmp_path),
        DJANGO_DEBUG="1",  # development is asked for (make run sets it)
    )
    result = _run(["-c", _SITE_URL], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8000"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "UNIFY_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_required_variable(tmp_path, missing):
    env = _clean_env(**PRODUCTION_ENV, UNIFY_DATA_DIR=str(tmp_path))
    del env[missing]
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert (
        f"ImproperlyConfigured: {missing} is not set. Production mode (DJANGO_DEBUG off) needs "
        "SECRET_KEY, UNIFY_ENCRYPTION_KEYS and ALLOWED_HOSTS in the environment."
    ) in result.stderr
    # Nothing was generated as a fallback.
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_an_invalid_encryption_key(tmp_path):
    env = _clean_env(**PRODUCTION_ENV, UNIFY_DATA_DIR=str(tmp_path))
    env["UNIFY_ENCRYPTION_KEYS"] = f"{Fernet.generate_key().decode()}, not-a-fernet-key"
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "UNIFY_ENCRYPTION_KEYS entry 2 is not a valid Fernet key" in result.stderr
    assert "not-a-fernet-key" not in result.stderr


def test_embedded_default_runs_migrate_and_a_request_on_sqlite_wal(tmp_path):
    data_dir = tmp_path / "data"
    # The embedded default as `make run` starts it: debug mode is asked for explicitly.
    env = _clean_env(
        DJANGO_SETTINGS_MODULE="unify.settings.base",
        DJANGO_DEBUG="1",
        UNIFY_DATA_DIR=str(data_dir),
    )
    result = _run(["manage.py", "migrate", "--noinput", "-v", "0"], env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

    script = """
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
print("DB", settings.DATABASES["default"]["ENGINE"], settings.DATABASES["default"]["NAME"])
print("BROKER", settings.CELERY_BROKER_URL)
print("CACHE", settings.CACHES["default"]["BACKEND"])
response = Client().get("/accounts/login/")
print("STATUS", response.status_code, b"Sign in to Unify" in response.content)
response = Client().get("/healthz")
print("HEALTH", response.status_code, response.content.decode())
"""
    result = _run(["-c", script], env)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    db_file = data_dir / "unify.sqlite3"
    assert lines["DB"] == f"django.db.backends.sqlite3 {db_file}"
    assert lines["BROKER"] == "filesystem://"
    assert lines["CACHE"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert lines["STATUS"] == "200 True"
    assert lines["HEALTH"] == "200 ok"

    assert db_file.exists()
    with sqlite3.connect(db_file) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tenancy_organization", "connections_storeconnection", "core_auditevent"} <= tables
    # Development secrets were generated into the data folder, readable by the owner only.
    for name in ("secret_key", "encryption_key"):
        assert oct((data_dir / name).stat().st_mode & 0o777) == "0o600"
    assert (data_dir / "broker" / "in").is_dir()
