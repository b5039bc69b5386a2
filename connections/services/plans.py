"""Plan rules for store connections: how many, and in which mode. Enforced here, not only in
forms."""

from __future__ import annotations

from connections.errors import ConnectionRefused
from connections.models import ConnectionMode, ConnectionStatus, StoreConnection
from connections.sources.registry import connectable_providers, source_provider
from unify.core.stored_text import gettext as _
from unify.core.stored_text import ngettext
from unify.tenancy.models import Organization


def _counted_connections(organization: Organization):
    # Disconnected connections keep their data but hold no keys and never sync: they do not
    # use up the plan's allowance.
    return StoreConnection.objects.for_org(organization).exclude(status=ConnectionStatus.DISABLED)


def provider_name(provider: str | None) -> str:
    """The display name of the source ``provider`` (a key); None: the first source Add Store
    offers."""
    if provider is None:
        return str(connectable_providers()[0].name)
    return str(source_provider(provider).name)


def plan_check_new_connection(
    *, organization: Organization, mode: str, provider: str | None = None
) -> None:
    """Raise unless the plan allows one more (non-disconnected) connection in ``mode``;
    ``provider`` (a source key) names the source in the messages."""
    plan = organization.plan_rules
    if mode not in ConnectionMode.values:
        raise ConnectionRefused(
            "mode",
            _("Choose how Unify should use %(provider)s.") % {"provider": provider_name(provider)},
            field="mode",
        )
    if mode == ConnectionMode.SHIPPING_EXPENSE and not plan.shipping_expense_mode:
        raise ConnectionRefused(
            "plan_mode",
            _(
                "Shipping-expense mode is part of the Pro and Advanced plans. Your %(plan)s "
                "plan connects %(provider)s as a sales channel; upgrade to use "
                "shipping-expense mode."
            )
            % {"plan": plan.name, "provider": provider_name(provider)},
            field="mode",
        )
    if _counted_connections(organization).count() >= plan.max_store_connections:
        raise ConnectionRefused(
            "plan_limit",
            ngettext(
                "Your %(plan)s plan includes %(limit)s store connection and it is in use. "
                "Disconnect it or upgrade your plan to add another.",
                "Your %(plan)s plan includes %(limit)s store connections and all are in use. "
                "Disconnect one or upgrade your plan to add another.",
                plan.max_store_connections,
            )
            % {"plan": plan.name, "limit": plan.max_store_connections},
        )
