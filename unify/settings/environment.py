"""What every settings module reads first: the checkout's folder, the environment, debug mode
and the data folder."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# Off unless asked for: a server started without the variable must never show the debug page
# (it prints settings, including connection URLs with their passwords).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
DATA_DIR = Path(env.str("UNIFY_DATA_DIR", default=str(BASE_DIR / ".data")))
