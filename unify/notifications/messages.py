"""What each kind of notification says, in the language active when it is rendered."""

from __future__ import annotations

from django.utils.translation import gettext as _

from unify.core.stored_text import from_data
from unify.notifications.models import Kind


def _source_name(params: dict) -> str:
    """The name of the connection's source (``provider``: its registry key). Events recorded
    before they kept it come from the first source a connection could be made with."""
    from connections.models import source_provider_choices
    from connections.sources.registry import UnknownSourceProvider, source_provider

    key = params.get("provider")
    if not key:
        return source_provider_choices()[0][1]
    try:
        return str(source_provider(key).name)
    except UnknownSourceProvider:
        return str(key)


def title(kind: str, params: dict) -> str:
    name = params.get("name", "")
    if kind == Kind.KEYS_EXPIRED:
        return _("%(source)s needs new API keys for %(name)s") % {
            "source": _source_name(params),
            "name": name,
        }
    if kind == Kind.LEDGER_DISCONNECTED:
        return _("Reconnect %(name)s") % {"name": name}
    if kind == Kind.RUN_FAILED:
        if params.get("run") == "posting":
            return _("Posting to %(name)s failed") % {"name": name}
        return _("The import from %(name)s failed") % {"name": name}
    if kind == Kind.DAILY_LIMIT:
        return _("The daily limit of %(name)s is reached") % {"name": name}
    if kind == Kind.FIRST_IMPORT:
        return _("The first import from %(name)s finished") % {"name": name}
    return str(kind)


def subject(kind: str, params: dict, organization_name: str) -> str:
    """The email's subject: the title, naming the organization where the title alone does
    not say whose books are concerned."""
    if kind == Kind.LEDGER_DISCONNECTED:
        return _("Reconnect %(name)s for %(org)s") % {
            "name": params.get("name", ""),
            "org": organization_name,
        }
    return title(kind, params)


def body(kind: str, params: dict) -> str:
    if kind == Kind.KEYS_EXPIRED:
        return _(
            "%(source)s rejected the API Key and API Secret: they may have expired or been "
            "regenerated. Syncing is paused until you enter new keys."
        ) % {"source": _source_name(params)}
    if kind == Kind.LEDGER_DISCONNECTED:
        return _(
            "The ledger no longer accepts Unify's access, so nothing is being posted to it. "
            "Reconnect it; orders waiting to be posted are sent as soon as it works again."
        )
    if kind == Kind.RUN_FAILED:
        return _("It failed after its retries: %(error)s") % {
            "error": from_data(params.get("error", ""))
        }
    if kind == Kind.DAILY_LIMIT:
        return _(
            "The ledger allows no more requests today. Posting pauses and resumes by itself "
            "when the limit resets."
        )
    if kind == Kind.FIRST_IMPORT:
        return _("Review the imported orders on the Sales tab, then post them to your books.")
    return ""


def action(kind: str) -> str:
    return {
        Kind.KEYS_EXPIRED: _("Enter new keys"),
        Kind.LEDGER_DISCONNECTED: _("Reconnect"),
        Kind.RUN_FAILED: _("See what failed"),
        Kind.DAILY_LIMIT: _("Open Accounting"),
        Kind.FIRST_IMPORT: _("Review the orders"),
    }.get(kind, _("Open"))
