"""Fixtures for the security tests: a real gunicorn server in production mode (the image's
command and settings) on the test database and Redis."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.server_process import REPO_ROOT, clean_env, gunicorn_server, production_env


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """``collectstatic`` once per session: production serves hashed files from a manifest."""
    static_root = tmp_path_factory.mktemp("static")
    env = clean_env(
        **production_env(
            data_dir=static_root.parent / "static-data",
            database_url="sqlite:////tmp/unify-collectstatic-unused.sqlite3",
            redis_url="",
        ),
    )
    env["STATIC_ROOT"] = str(static_root)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return static_root


@pytest.fixture
def production_server(django_db_setup, collected_static, tmp_path):
    """Factory: ``with production_server(**env) as server:`` starts gunicorn as the image
    does (production settings, no ``DJANGO_DEBUG``) on the test database, which it sees
    committed rows of: use with ``django_db(transaction=True)``."""
    from django.conf import settings

    from tests.worker_process import subprocess_database_url

    def start(**more: str):
        env = clean_env(
            **production_env(
                data_dir=tmp_path / "data",
                database_url=subprocess_database_url(),
                redis_url=settings.REDIS_URL,
                **more,
            )
        )
        env["STATIC_ROOT"] = str(collected_static)
        return gunicorn_server(env=env, tmp_path=tmp_path)

    return start
