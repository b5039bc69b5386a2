"""``make run``: web, Celery worker, Celery beat and the sandbox stand-ins, together.

Everything runs on the embedded default (SQLite, file-system broker); Ctrl-C stops all of
it. Each part is a child process so a crash in one is visible and ends the whole run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib import import_module
from types import ModuleType

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def stand_ins() -> list[ModuleType]:
    """The sandbox stand-ins of the registered sources and ledgers (their ``stand_in``
    module), once each, in registry order."""
    from accounting.ledgers.registry import ledger_providers
    from connections.sources.registry import source_providers

    providers = [*source_providers().values(), *ledger_providers().values()]
    paths = [getattr(provider, "stand_in", "") for provider in providers]
    return [import_module(path) for path in dict.fromkeys(path for path in paths if path)]


def sandbox_environment() -> dict[str, str]:
    """Settings that point Unify at the sandbox stand-ins (the environment still wins): each
    stand-in's ``make_run_environment()``."""
    environment: dict[str, str] = {}
    for module in stand_ins():
        environment.update(module.make_run_environment())
    return environment


def sandbox_notes() -> list[str]:
    """What to tell about the stand-ins (demo keys, how to run one by hand)."""
    return [note for module in stand_ins() for note in module.make_run_notes()]


class Command(BaseCommand):
    help = "Run Unify on its embedded default: web, worker, beat and the sandbox stand-ins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-sandbox", action="store_true")

    def handle(self, *args, port: int, no_sandbox: bool, **options) -> None:
        python = sys.executable
        env = dict(os.environ)
        # Links in emails point at this server.
        env.setdefault("UNIFY_SITE_URL", f"http://127.0.0.1:{port}")
        if not no_sandbox:
            for name, value in sandbox_environment().items():
                env.setdefault(name, value)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("demo_setup")
        data_dir = settings.DATA_DIR
        commands = {
            "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "unify",
                "worker",
                "--loglevel=INFO",
                "--pool=threads",
                "--concurrency=4",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "unify",
                "beat",
                "--loglevel=INFO",
                f"--schedule={data_dir / 'celerybeat-schedule'}",
            ],
        }
        if not no_sandbox:
            commands = {"sandbox": [python, "-m", "sandbox"], **commands}
        processes: dict[str, subprocess.Popen] = {}
        # Ctrl-C, and also `kill` / a supervisor's SIGTERM, stop the children too instead of
        # leaving them orphaned; SIGINT is re-armed in case it was inherited as ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            for name, command in commands.items():
                processes[name] = subprocess.Popen(command, env=env)  # noqa: S603
                if name == "sandbox":
                    time.sleep(1.5)
            self.stdout.write(self.style.SUCCESS(f"Unify is running at http://127.0.0.1:{port}/"))
            if not no_sandbox:
                for note in sandbox_notes():
                    self.stdout.write(note)
            self.stdout.write("Press Ctrl-C to stop everything.")
            while True:
                for name, proc in processes.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping.")
                        return
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            for proc in processes.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for proc in processes.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
