"""Settings of accounting's worker subprocesses that also import: the test settings plus the
ShipStation stand-in's address from the environment (the test settings pin it to a dead
port so no test reaches a real ShipStation by accident)."""

import os

from unify.settings.test import *  # noqa: F403

SHIPSTATION_API_BASE_URL = os.environ["SHIPSTATION_API_BASE_URL"]
