from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from connections.models import ConnectionMode, SourceStore, StoreConnection
from connections.sources.shipstation.adapter import ORDER_STATUSES
from connections.sources.statuses import ORDER_STATUS_LABELS
from unify.tenancy.models import Organization
from unify.tenancy.plans import SYNC_INTERVAL_CHOICES_MINUTES

# Kept under its old name for callers of this module.
STATUS_LABELS = ORDER_STATUS_LABELS

MODE_EXPLANATIONS = {
    ConnectionMode.SALES_CHANNEL: _(
        "Unify imports your orders from ShipStation (every store and marketplace that feeds "
        "it) together with their shipping label costs."
    ),
    ConnectionMode.SHIPPING_EXPENSE: _(
        "Your orders come from your shop (for example an order file); Unify imports only the "
        "shipping label costs from ShipStation and matches them to those orders."
    ),
}

PLATFORMS = [
    ("shipstation", "ShipStation"),
]


def interval_label(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return str(_("Every day")) if days == 1 else str(_("Every %(n)s days") % {"n": days})
    if minutes % 60 == 0:
        hours = minutes // 60
        return str(_("Every hour")) if hours == 1 else str(_("Every %(n)s hours") % {"n": hours})
    return str(_("Every %(n)s minutes") % {"n": minutes})


def _secret_widget() -> forms.PasswordInput:
    # Never echoed back into the page, never offered to the browser's password manager.
    return forms.PasswordInput(
        render_value=False,
        attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"},
    )


class PlatformForm(forms.Form):
    platform = forms.ChoiceField(
        label=_("Platform"), choices=PLATFORMS, widget=forms.RadioSelect, initial="shipstation"
    )


class ShipStationKeysForm(forms.Form):
    api_key = forms.CharField(
        label=_("API Key"), max_length=200, strip=True, widget=_secret_widget()
    )
    api_secret = forms.CharField(
        label=_("API Secret"), max_length=200, strip=True, widget=_secret_widget()
    )


class ShipStationConnectForm(ShipStationKeysForm):
    name = forms.CharField(
        label=_("Connection name"),
        max_length=120,
        required=False,
        help_text=_("How this ShipStation account is called in Unify, e.g. “Main warehouse”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    mode = forms.ChoiceField(
        label=_("How should Unify use ShipStation?"),
        choices=ConnectionMode.choices,
        initial=ConnectionMode.SALES_CHANNEL,
        widget=forms.RadioSelect,
    )

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
                "explanation": MODE_EXPLANATIONS[value],
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
        choices=[(s, STATUS_LABELS[s]) for s in ORDER_STATUSES],
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
        help_text=_("The cost of every label bought in ShipStation, to book as shipping expense."),
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
        self.fields["sync_interval_minutes"].choices = [
            (m, interval_label(m))
            for m in SYNC_INTERVAL_CHOICES_MINUTES
            if plan.allows_sync_interval(m)
        ]
        self.fields["sync_interval_minutes"].help_text = _(
            "Your %(plan)s plan syncs as often as %(interval)s."
        ) % {"plan": plan.name, "interval": interval_label(plan.min_sync_interval_minutes).lower()}
        self.fields["included_stores"].choices = [
            (str(s.pk), f"{s}" + ("" if s.active else f" ({_('inactive in ShipStation')})"))
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
    file = forms.FileField(
        label=_("Order file (CSV or XLSX)"),
        help_text=_("One row per order line. Download the template to see the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    source_store = forms.TypedChoiceField(
        label=_("ShipStation store that ships these orders"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_(
            "Label costs of this store are matched to the file's orders by order number. "
            "Leave empty to match by order number across all stores."
        ),
    )

    def __init__(self, *args, stores: list[SourceStore], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stores = {s.pk: s for s in stores}
        self.fields["source_store"].choices = [("", _("Any store"))] + [
            (s.pk, f"{s.connection.name}: {s}") for s in stores
        ]
