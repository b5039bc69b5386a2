"""Local stand-ins for the providers Unify talks to, plus the demo data generator.

See ``sandbox/README.md``. ``python -m sandbox`` runs every stand-in with a demo account.
"""
