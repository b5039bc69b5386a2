"""Where orders come from: adapters that turn a provider (ShipStation now) into contracts.

Adapters never touch the ORM; services map between models and the contracts in
:mod:`connections.sources.base`.
"""
