from __future__ import annotations

import factory

from connections.models import SourceStore, StoreConnection
from connections.sources.shipstation.client import api_key_fingerprint
from unify.core.secrets import mask_hint


class StoreConnectionFactory(factory.django.DjangoModelFactory):
    """A connection as the connect flow leaves it (keys not checked: for tests that do not
    talk to ShipStation, e.g. isolation)."""

    class Meta:
        model = StoreConnection

    name = factory.Sequence(lambda n: f"Connection {n}")
    credentials = factory.LazyAttribute(
        lambda o: {"api_key": o.api_key, "api_secret": o.api_secret}
    )
    credentials_hint = factory.LazyAttribute(lambda o: mask_hint(o.api_key))
    credentials_fingerprint = factory.LazyAttribute(lambda o: api_key_fingerprint(o.api_key))

    class Params:
        api_key = factory.Sequence(lambda n: f"factory-key-{n:08d}")
        api_secret = factory.Sequence(lambda n: f"factory-secret-{n:08d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.all_orgs.create(*args, **kwargs)


class SourceStoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SourceStore

    connection = factory.SubFactory(StoreConnectionFactory)
    organization = factory.SelfAttribute("connection.organization")
    external_id = factory.Sequence(lambda n: 90000 + n)
    name = factory.Sequence(lambda n: f"Store {n}")
    marketplace_name = "Shopify"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.all_orgs.create(*args, **kwargs)
