"""One factory per model the tests build (factory_boy). Tenant-owned rows are created through
the unscoped manager: tests pass the organization explicitly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from accounting.models import LedgerConnection
from connections.models import SourceStore, StoreConnection
from connections.sources.shipstation.client import api_key_fingerprint
from sales.models import Order, OrderLine, ShippingCost
from unify.core.secrets import mask_hint
from unify.tenancy.models import Membership, Organization, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        # The post-generation hook writes EmailAddress rows, not the user: no second save.
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        if not create:
            return
        from allauth.account.models import EmailAddress

        EmailAddress.objects.get_or_create(
            user=obj, email=obj.email, defaults={"verified": True, "primary": True}
        )


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.MEMBER


class OrgOwnedFactory(factory.django.DjangoModelFactory):
    """Creates through the unscoped manager: tests set the organization explicitly."""

    class Meta:
        abstract = True

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.all_orgs


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


class OrderFactory(OrgOwnedFactory):
    class Meta:
        model = Order

    external_id = factory.Sequence(lambda n: str(900000 + n))
    number = factory.Sequence(lambda n: str(1000 + n))
    order_key = factory.LazyAttribute(lambda o: f"key-{o.external_id}")
    status = "shipped"
    store_name = "Web Store"
    order_date = factory.LazyFunction(lambda: datetime(2026, 5, 4, 15, 30, tzinfo=UTC))
    payment_date = factory.LazyAttribute(lambda o: o.order_date)
    customer_name = "Jane Doe"
    customer_email = "jane@example.com"
    currency = "USD"


class OrderLineFactory(OrgOwnedFactory):
    class Meta:
        model = OrderLine

    organization = factory.LazyAttribute(lambda o: o.order.organization)
    position = factory.Sequence(lambda n: n + 1)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    quantity = Decimal("1")
    unit_price = Decimal("10.00")


class ShippingCostFactory(OrgOwnedFactory):
    class Meta:
        model = ShippingCost

    external_id = factory.Sequence(lambda n: str(700000 + n))
    carrier = "stamps_com"
    service = "usps_priority_mail"
    tracking_number = factory.Sequence(lambda n: f"9400{n:018d}")
    cost = Decimal("7.45")
    insurance = Decimal("0.00")
    create_date = factory.LazyFunction(lambda: datetime(2026, 5, 4, 18, 0, tzinfo=UTC))


class LedgerConnectionFactory(OrgOwnedFactory):
    class Meta:
        model = LedgerConnection

    provider = "qbo"
    company_id = factory.Sequence(lambda n: str(9130350000000 + n))
    company_name = "Sandbox Company"
    tokens = factory.LazyFunction(lambda: {"access_token": "a-token", "refresh_token": "r-token"})
