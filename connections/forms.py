from __future__ import annotations

from typing import ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from connections.models import ConnectionMode, SourceStore, StoreConnection
from connections.sources.registry import connectable_providers, source_provider
from connections.sources.statuses import ORDER_STATUS_LABELS
from unify.tenancy.models import Organization
from unify.tenancy.plans import SYNC_INTERVAL_CHOICES_MINUTES

# Kept under its old name for callers of this module.
STATUS_LABELS = ORDER_STATUS_LABELS


def mode_explanation(mode: str, *, provider: str) -> str:
    """What ``mode`` means for a connection of the source ``provider`` (a registry key)."""
    name = source_provider(provider).name
    if mode == ConnectionMode.SALES_CHANNEL:
        return _(
            "Unify imports your orders from %(provider)s (every store and marketplace that "
            "feeds it) together with their shipping label costs."
        ) % {"provider": name}
    if mode == ConnectionMode.SHIPPING_EXPENSE:
        return _(
            "Your orders come from your shop (for example an order file); Unify imports only "
            "the shipping label costs from %(provider)s and matches them to those orders."
        ) % {"provider": name}
    return ""


def interval_label(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return str(_("Every day")) if days == 1 else str(_("Every %(n)s days") % {"n": days})
    if minutes % 60 == 0:
        hours = minutes // 60
        return str(_("Every hour")) if hours == 1 else str(_("Every %(n)s hours") % {"n": hours})
    return str(_("Every %(n)s minutes") % {"n": minutes})


def secret_widget() -> forms.PasswordInput:
    # Never echoed back into the page, never offered to the browser's password manager.
    return forms.PasswordInput(
        render_value=False,
        attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"},
    )


class PlatformForm(forms.Form):
    platform = forms.ChoiceField(label=_("Platform"), widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(p.key, p.name) for p in connectable_providers()]
        self.fields["platform"].choices = choices
        self.fields["platform"].initial = choices[0][0] if choices else None


class ConnectionSetupFields:
    """What every Add Store form has besides the source's credentials: a ``name`` and a
    ``mode`` field (declared by the source's form, whose labels name the source) and the
    mode options with their explanations and the plan's verdict."""

    organization: Organization
    shipping_expense_allowed: bool
    provider: ClassVar[str]  # the source's registry key

    @staticmethod
    def mode_choices() -> list[tuple[str, str]]:
        return list(ConnectionMode.choices)

    @staticmethod
    def default_mode() -> str:
        return ConnectionMode.SALES_CHANNEL

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.shipping_expense_allowed = organization.plan_rules.shipping_expense_mode

    def mode_options(self) -> list[dict]:
        """The radio options with their explanation and whether the plan allows them."""
        selected = self["mode"].value() or ConnectionMode.SALES_CHANNEL
        return [
            {
                "value": value,
                "label": label,
                "explanation": mode_explanation(value, provider=self.provider),
                "disabled": value == ConnectionMode.SHIPPING_EXPENSE
                and not self.shipping_expense_allowed,
                "checked": value == selected,
                "id": f"id_mode_{index}",
            }
            for index, (value, label) in enumerate(ConnectionMode.choices)
        ]


class SyncSettingsForm(forms.Form):
    name = forms.CharField(label=_("Connection name"), max_length=120)
    import_start_date = forms.DateField(
        label=_("Import orders from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Orders changed since this day are imported (default: 30 days ago)."),
    )
    order_statuses = forms.MultipleChoiceField(
        label=_("Order statuses to import"),
        choices=(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Default: shipped orders only."),
    )
    included_stores = forms.MultipleChoiceField(
        label=_("Stores to import"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Orders of stores left unticked are not imported."),
    )
    auto_sync_enabled = forms.BooleanField(label=_("Sync automatically"), required=False)
    sync_interval_minutes = forms.TypedChoiceField(
        label=_("Auto-sync interval"), coerce=int, choices=()
    )
    pull_label_costs = forms.BooleanField(
        label=_("Import shipping label costs"),
        required=False,
    )

    def __init__(
        self,
        *args,
        connection: StoreConnection,
        stores: list[SourceStore],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        plan = connection.organization.plan_rules
        source = source_provider(connection.provider)
        self.fields["order_statuses"].choices = [
            (s, STATUS_LABELS[s]) for s in source.order_statuses
        ]
        self.fields["pull_label_costs"].help_text = _(
            "The cost of every label bought in %(provider)s, to book as shipping expense."
        ) % {"provider": source.name}
        self.fields["sync_interval_minutes"].choices = [
            (m, interval_label(m))
            for m in SYNC_INTERVAL_CHOICES_MINUTES
            if plan.allows_sync_interval(m)
        ]
        self.fields["sync_interval_minutes"].help_text = _(
            "Your %(plan)s plan syncs at most this often: %(interval)s."
        ) % {"plan": plan.name, "interval": interval_label(plan.min_sync_interval_minutes)}
        self.fields["included_stores"].choices = [
            (
                str(s.pk),
                str(s)
                if s.active
                else _("%(store)s (inactive in %(provider)s)")
                % {"store": s, "provider": source.name},
            )
            for s in stores
        ]
        if connection.mode == ConnectionMode.SHIPPING_EXPENSE:
            # Only label costs are imported in this mode (the orders come from the shop):
            # order statuses and the label-cost switch do not apply to it.
            del self.fields["order_statuses"]
            del self.fields["pull_label_costs"]
            self.fields["import_start_date"].label = _("Import label costs from")
            self.fields["import_start_date"].help_text = _(
                "Labels bought since this day are imported (default: 30 days ago)."
            )
            self.fields["included_stores"].help_text = _(
                "Label costs of stores left unticked are not imported."
            )
        if not self.is_bound:
            self.initial.update(
                {
                    "name": connection.name,
                    "import_start_date": connection.import_start_date,
                    "order_statuses": list(connection.order_statuses),
                    "included_stores": [str(s.pk) for s in stores if s.included],
                    "auto_sync_enabled": connection.auto_sync_enabled,
                    "sync_interval_minutes": max(
                        connection.sync_interval_minutes, plan.min_sync_interval_minutes
                    ),
                    "pull_label_costs": connection.pull_label_costs,
                }
            )


class OrderFileForm(forms.Form):
    connection = forms.TypedChoiceField(
        label=_("Shipping-expense connection"),
        coerce=int,
        help_text=_("The orders belong to this connection; its label costs are matched to them."),
    )
    file = forms.FileField(
        label=_("Order file (CSV or XLSX)"),
        help_text=_("One row per order line. Download the template to see the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    default_store = forms.TypedChoiceField(
        label=_("Store for rows that name no store of the connection"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_(
            "Labels are matched by store and order number. Rows whose store column gives the "
            "store's name as the connection's source shows it need nothing here."
        ),
    )

    def __init__(
        self, *args, connections: list[StoreConnection], stores: list[SourceStore], **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.connections = {c.pk: c for c in connections}
        self.stores = {s.pk: s for s in stores}
        self.fields["connection"].choices = [(c.pk, c.name) for c in connections]
        if len(connections) == 1 and not self.is_bound:
            self.initial.setdefault("connection", connections[0].pk)
        self.fields["default_store"].choices = [("", _("None: match by the store column"))] + [
            (s.pk, f"{s} ({s.connection.name})") for s in stores
        ]

    def clean(self):
        cleaned = super().clean()
        connection = self.connections.get(cleaned.get("connection") or 0)
        store = self.stores.get(cleaned.get("default_store") or 0)
        cleaned["connection"] = connection
        cleaned["default_store"] = store
        if connection is not None and store is not None and store.connection_id != connection.pk:
            self.add_error(
                "default_store",
                _("This store belongs to another connection. Choose one of %(name)s's stores.")
                % {"name": connection.name},
            )
        return cleaned
