"""Debug mode is off unless asked for: settings booted in a subprocess with a clean
environment, the production image's own server command, and ``make run``."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import requests
import yaml

from tests.server_process import (
    REPO_ROOT,
    clean_env,
    free_port,
    gunicorn_server,
    production_env,
)

DB_SENTINEL = "db-password-sentinel-7Q2"
REDIS_SENTINEL = "redis-password-sentinel-9K4"


def _run(args: list[str], env: dict[str, str], timeout: float = 180):
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_settings_without_django_debug_are_production_settings(tmp_path):
    env = clean_env(
        **production_env(
            data_dir=tmp_path,
            database_url="postgres://postgres@127.0.0.1:5432/unify_settings_check",
            redis_url="redis://127.0.0.1:6379/9",
        )
    )
    assert "DJANGO_DEBUG" not in env
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
        "s.ACCOUNT_DEFAULT_HTTP_PROTOCOL)"
    )
    result = _run(["-c", script], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "https"]


def test_settings_with_nothing_set_refuse_to_start_and_say_how_to_develop(tmp_path):
    env = clean_env(DJANGO_SETTINGS_MODULE="unify.settings.base", UNIFY_DATA_DIR=str(tmp_path))
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: SECRET_KEY is not set. Production mode (DJANGO_DEBUG off) needs "
        "SECRET_KEY, UNIFY_ENCRYPTION_KEYS and ALLOWED_HOSTS in the environment. For local "
        "development use `make run`, or set DJANGO_DEBUG=1."
    ) in result.stderr
    # No development secret was generated: nothing ran in debug mode.
    assert not (tmp_path / "secret_key").exists()


def test_image_command_answers_an_unknown_host_without_the_debug_page(tmp_path):
    env = clean_env(
        **production_env(
            data_dir=tmp_path,
            database_url=f"postgres://postgres:{DB_SENTINEL}@127.0.0.1:5432/unify_nowhere",
            redis_url=f"redis://:{REDIS_SENTINEL}@127.0.0.1:6379/14",
        )
    )
    with gunicorn_server(env=env, tmp_path=tmp_path) as server:
        response = server.get("/accounts/login/", headers={"Host": "attacker.example"})
        access, errors = server.logs()
    assert response.status_code == 400
    assert "<h1>Bad Request (400)</h1>" in response.text
    for leaked in ("DisallowedHost", "DATABASE_URL", "REDIS_URL", DB_SENTINEL, REDIS_SENTINEL,
                   "Traceback", "settings"):  # fmt: skip
        assert leaked not in response.text
    assert DB_SENTINEL not in errors + access
    assert REDIS_SENTINEL not in errors + access


def test_dockerfile_and_compose_run_with_debug_off():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    # ENV instructions, continuation lines joined: the image's own environment.
    env_blocks = re.findall(r"^ENV (?:[^\n]*\\\n)*[^\n]*", dockerfile, flags=re.M)
    image_env = dict(
        item.split("=", 1) for block in env_blocks for item in block[4:].replace("\\", " ").split()
    )
    assert image_env["DJANGO_DEBUG"] == "0"
    assert "DJANGO_DEBUG=1" not in dockerfile
    assert '"-c", "python:unify.gunicorn_config"' in dockerfile
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    for name in ("migrate", "web", "worker", "beat"):
        assert compose["services"][name]["environment"]["DJANGO_DEBUG"] == "0"


def test_make_run_turns_debug_on(tmp_path):
    """``make run`` is ``manage.py run_embedded``: it, and only it, runs in debug mode."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "$(BIN)/python manage.py run_embedded" in makefile
    port = free_port()
    env = clean_env(UNIFY_DATA_DIR=str(tmp_path / "data"))
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "run_embedded", "--no-sandbox", "--port", str(port)],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(requests.RequestException):
                response = requests.get(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
                break
            time.sleep(0.5)
        output = (tmp_path / "run.log").read_text(errors="replace")
        assert response is not None, output
        # Django's technical 404 page: only shown in debug mode.
        assert response.status_code == 404
        assert "Using the URLconf defined in" in response.text
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()
