"""The posting settings form. Every ledger id is chosen from the ledger's own catalog, so a
mapping the ledger does not have cannot be saved."""

from __future__ import annotations

import re
from collections import defaultdict

from django import forms
from django.utils.translation import gettext_lazy as _

from accounting.ledgers.base import CatalogEntry, LedgerCatalog
from accounting.models import (
    LabelCostMode,
    PostingSettings,
    PostingTrigger,
    SaleDocumentType,
)

ORDER_STATUS_CHOICES = [
    ("shipped", _("Shipped")),
    ("awaiting_shipment", _("Awaiting shipment")),
    ("pending_fulfillment", _("Pending fulfillment")),
    ("on_hold", _("On hold")),
    ("awaiting_payment", _("Awaiting payment")),
]
SCHEDULE_CHOICES = [
    (60, _("Every hour")),
    (180, _("Every 3 hours")),
    (360, _("Every 6 hours")),
    (720, _("Every 12 hours")),
    (1440, _("Once a day")),
]
PREFIX_RE = re.compile(r"^[A-Za-z0-9\-_/.#]*$")

# (field, label of the catalog section, account types offered first)
ACCOUNT_FIELDS = (
    "product_income_account_id",
    "shipping_income_account_id",
    "discount_account_id",
    "tax_liability_account_id",
    "deposit_account_id",
    "shipping_expense_account_id",
    "label_payment_account_id",
    "reconciliation_account_id",
)


def _grouped(entries: tuple[CatalogEntry, ...], blank: str) -> list:
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for entry in entries:
        if entry.active:
            groups[entry.kind or _("Other")].append((entry.id, entry.name))
    choices: list = [("", blank)]
    for kind in sorted(groups, key=str):
        choices.append((kind, sorted(groups[kind], key=lambda c: c[1].casefold())))
    return choices


def _flat(entries: tuple[CatalogEntry, ...], blank: str) -> list[tuple[str, str]]:
    return [("", blank)] + sorted(
        ((e.id, e.name) for e in entries if e.active), key=lambda c: c[1].casefold()
    )


class PostingSettingsForm(forms.ModelForm):
    eligible_statuses = forms.MultipleChoiceField(
        label=_("Order statuses to post"),
        choices=ORDER_STATUS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["shipped"],
    )
    store_ids = forms.TypedMultipleChoiceField(
        label=_("Stores to post (none ticked: every store)"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    schedule_interval_minutes = forms.TypedChoiceField(
        label=_("Post every (on a schedule)"), choices=SCHEDULE_CHOICES, coerce=int
    )

    class Meta:
        model = PostingSettings
        fields = [
            "document_type",
            "trigger",
            "schedule_interval_minutes",
            "eligible_statuses",
            "start_date",
            "store_ids",
            "customer_strategy",
            "item_match_sku",
            "item_create_missing",
            "default_item_id",
            "product_income_account_id",
            "shipping_income_account_id",
            "discount_account_id",
            "tax_liability_account_id",
            "default_tax_code_id",
            "deposit_account_id",
            "payment_method_id",
            "reconciliation_enabled",
            "reconciliation_account_id",
            "label_cost_mode",
            "label_vendor_mode",
            "shipping_expense_account_id",
            "label_payment_account_id",
            "document_number_prefix",
        ]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "document_type": forms.RadioSelect,
            "trigger": forms.RadioSelect,
            "customer_strategy": forms.RadioSelect,
            "label_cost_mode": forms.RadioSelect,
            "label_vendor_mode": forms.RadioSelect,
        }
        help_texts = {
            "document_number_prefix": _(
                "Put in front of the order number (up to 8 characters). Numbers too long for "
                "the ledger keep their end and get a short code, never colliding."
            ),
            "reconciliation_enabled": _(
                "When what the buyer paid differs from lines + shipping + tax − discounts, "
                "post the difference to this account. Off: such orders fail with both amounts "
                "shown."
            ),
        }

    def __init__(
        self,
        *args,
        catalog: LedgerCatalog,
        stores: list[tuple[int, str]],
        sale_kinds: tuple[str, ...],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = catalog
        accounts = _grouped(catalog.accounts, str(_("Choose an account")))
        for name in ACCOUNT_FIELDS:
            label = self.fields[name].label
            self.fields[name] = forms.ChoiceField(label=label, choices=accounts, required=False)
        self.fields["default_item_id"] = forms.ChoiceField(
            label=_("Default item (lines without a matching item)"),
            choices=_flat(catalog.items, str(_("None"))),
            required=False,
        )
        self.fields["default_tax_code_id"] = forms.ChoiceField(
            label=_("Tax code (empty: tax posts to the sales tax liability account)"),
            choices=_flat(catalog.tax_codes, str(_("None"))),
            required=False,
        )
        self.fields["payment_method_id"] = forms.ChoiceField(
            label=_("Payment method"),
            choices=_flat(catalog.payment_methods, str(_("None"))),
            required=False,
        )
        allowed = set(sale_kinds) | {SaleDocumentType.DAILY_SUMMARY}
        self.fields["document_type"].choices = [
            c for c in SaleDocumentType.choices if c[0] in allowed
        ]
        self.fields["store_ids"].choices = stores
        if self.instance.pk:
            self.initial.setdefault("eligible_statuses", self.instance.eligible_statuses)
            self.initial.setdefault("store_ids", self.instance.store_ids)

    def stale_mappings(self) -> list[str]:
        """Labels of fields whose saved id the ledger no longer has (shown on GET)."""
        sections = {name: "accounts" for name in ACCOUNT_FIELDS}
        sections.update(
            {
                "default_item_id": "items",
                "default_tax_code_id": "tax_codes",
                "payment_method_id": "payment_methods",
            }
        )
        stale = []
        for name, section in sections.items():
            value = getattr(self.instance, name, "")
            if value and value not in self.catalog.ids(section):
                stale.append(str(self.fields[name].label))
        return stale

    def clean_document_number_prefix(self) -> str:
        prefix = self.cleaned_data.get("document_number_prefix", "").strip()
        if not PREFIX_RE.match(prefix):
            raise forms.ValidationError(_("Use letters, digits and - _ / . # only."))
        return prefix

    def clean(self):
        data = super().clean()
        required = [
            ("product_income_account_id", _("Product income")),
            ("deposit_account_id", _("Deposit to")),
            ("shipping_income_account_id", _("Shipping income")),
            ("discount_account_id", _("Discounts")),
        ]
        if not data.get("default_tax_code_id"):
            required.append(("tax_liability_account_id", _("Sales tax liability")))
        if data.get("label_cost_mode") in (LabelCostMode.EXPENSE, LabelCostMode.BILL):
            required.append(("shipping_expense_account_id", _("Shipping expense")))
        if data.get("label_cost_mode") == LabelCostMode.EXPENSE:
            required.append(("label_payment_account_id", _("Account that pays label costs")))
        if data.get("reconciliation_enabled"):
            required.append(("reconciliation_account_id", _("Reconciliation difference")))
        for name, label in required:
            if not data.get(name):
                self.add_error(name, _("Choose the %(account)s account.") % {"account": label})
        if (
            not data.get("item_create_missing")
            and not data.get("default_item_id")
            and data.get("document_type") != SaleDocumentType.DAILY_SUMMARY
        ):
            self.add_error(
                "default_item_id",
                _("Choose a default item, or allow Unify to create missing items."),
            )
        if data.get("trigger") == PostingTrigger.SCHEDULE and not data.get(
            "schedule_interval_minutes"
        ):
            self.add_error("schedule_interval_minutes", _("Choose how often to post."))
        return data
