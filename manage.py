#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unify.settings.base")
    if sys.argv[1:2] == ["run_embedded"]:
        # ``make run``: the local embedded default is the one place debug mode is on by
        # default (settings are read before the command runs, so it is decided here).
        os.environ.setdefault("DJANGO_DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
