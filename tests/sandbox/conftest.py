"""The ShipStation fixtures (``shipstation``, ``shipstation_server``) come from
``sandbox.pytest_plugin``, which the top-level ``tests/conftest.py`` loads; pytest refuses
``pytest_plugins`` in a nested conftest, so nothing is declared here."""
