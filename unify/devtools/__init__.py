"""Development-only commands (``make run``'s ``run_embedded`` and the demo user).

Installed only in debug mode (``unify/settings/base.py``) and left out of the production
image (``.dockerignore``), so a production deployment cannot create the demo account."""
