"""The posting settings form. Every ledger id is chosen from the ledger's own catalog, so a
mapping the ledger does not have cannot be saved."""

from __future__ import annotations

import re
from collections import defaultdict

from django import forms
from django.utils.translation import gettext_lazy as _

from accounting.forms_destination import (  # noqa: F401 - re-exported
    COUNTRY_RE,
    DESTINATION_BLANK_ROWS,
    STATE_RE,
    BaseTaxDestinationRuleFormSet,
    TaxDestinationRuleForm,
    TaxDestinationRuleFormSet,
    destination_key,
    destination_parts,
)
from accounting.forms_marketplace import MarketplaceTaxFields
from accounting.ledgers import account_types
from accounting.ledgers.base import CatalogEntry, LedgerCatalog
from accounting.ledgers.registry import ledger_providers
from accounting.models import (
    LabelCostMode,
    LabelVendorMode,
    PostingSettings,
    PostingTrigger,
    SaleDocumentType,
)
from connections.sources.statuses import ORDER_STATUS_LABELS

ORDER_STATUS_CHOICES = [
    (status, ORDER_STATUS_LABELS[status])
    for status in (
        "shipped",
        "awaiting_shipment",
        "pending_fulfillment",
        "on_hold",
        "awaiting_payment",
    )
]
SCHEDULE_CHOICES = [
    (60, _("Every hour")),
    (180, _("Every 3 hours")),
    (360, _("Every 6 hours")),
    (720, _("Every 12 hours")),
    (1440, _("Once a day")),
]
PREFIX_RE = re.compile(r"^[A-Za-z0-9\-_/.#]*$")
STORE_TAX_FIELD = "tax_code_store_%s"
DESTINATION_RULES_PREFIX = "destination"

# (field, label of the catalog section, account types offered first)
ACCOUNT_FIELDS = (
    "product_income_account_id",
    "shipping_income_account_id",
    "discount_account_id",
    "tax_liability_account_id",
    "deposit_account_id",
    "shipping_expense_account_id",
    "label_payment_account_id",
    "return_label_account_id",
    "reconciliation_account_id",
    "fulfillment_fee_account_id",
    "marketplace_tax_account_id",
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


def shipping_item_field(
    catalog: LedgerCatalog, instance: PostingSettings, *, ledger: str
) -> forms.ChoiceField:
    """The merchant's own item for shipping lines (optional), for a ledger that charges
    shipping to an item (``shipping_by_item``; ``ledger``: its name): each option names the
    income account the ledger posts it to, and so does the note under a chosen one."""
    accounts = {a.id: a.name for a in catalog.accounts}

    def label(entry: CatalogEntry) -> str:
        account = accounts.get(entry.account_id, entry.account_id)
        return f"{entry.name} → {account}" if account else entry.name

    choices = [("", str(_("Unify's own shipping item (on the shipping income account)")))]
    choices += sorted(
        ((e.id, label(e)) for e in catalog.items if e.active), key=lambda c: c[1].casefold()
    )
    chosen = next((e for e in catalog.items if e.id == instance.shipping_item_id), None)
    if chosen is not None:
        help_text = _(
            "%(ledger)s posts shipping charged to buyers to this item's income account, "
            "“%(account)s”, not to the shipping income account above."
        ) % {"account": accounts.get(chosen.account_id, chosen.account_id or "?"), "ledger": ledger}
    else:
        help_text = _(
            "Empty: Unify posts shipping with its own item on the shipping income account. "
            "An existing “Shipping” item of yours is used only when chosen here."
        )
    return forms.ChoiceField(
        label=_("Shipping item"), choices=choices, required=False, help_text=help_text
    )


def connected_source_names(organization_id: int | None) -> list[str]:
    """The names of the sources the organization connected (their providers'), in the
    source registry's order."""
    from connections.models import StoreConnection, source_provider_choices

    if not organization_id:
        return []
    keys = set(StoreConnection.objects.for_org(organization_id).values_list("provider", flat=True))
    return [str(name) for key, name in source_provider_choices() if key in keys]


def label_vendor_choices(sellers: list[str]) -> list[tuple[str, str]]:
    """The label cost vendor choices, the label seller named after the connected sources
    (``sellers``: :func:`connected_source_names`), else described."""
    return [
        (value, " / ".join(sellers) if value == LabelVendorMode.LABEL_SELLER and sellers else label)
        for value, label in LabelVendorMode.choices
    ]


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
            "shipping_item_id",
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
            "return_label_account_id",
            "fulfillment_fee_account_id",
            "fulfillment_fee_vendor",
            "document_number_prefix",
            "post_on_first_open_day",
            "marketplace_tax_treatment",
            "marketplace_tax_account_id",
        ]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "document_type": forms.RadioSelect,
            "trigger": forms.RadioSelect,
            "customer_strategy": forms.RadioSelect,
            "label_cost_mode": forms.RadioSelect,
            "label_vendor_mode": forms.RadioSelect,
            "marketplace_tax_treatment": forms.RadioSelect,
        }
        help_texts = {
            "return_label_account_id": _(
                "Return labels (postage to get goods back) are booked apart from outbound "
                "shipping. Empty: the shipping expense account, with “Return label” on the line."
            ),
            "document_number_prefix": _(
                "Put in front of the order number (up to 8 characters). Numbers too long for "
                "the ledger keep their end and get a short code, never colliding."
            ),
            "post_on_first_open_day": _(
                "When the ledger refuses a document because its books are closed for that date, "
                "date it the first day after the closing date and post it, with the original "
                "date in its memo. Off: such documents wait with the reason until you retry."
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
        provider: str = "",
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = catalog
        self.provider = provider
        for name in ACCOUNT_FIELDS:
            # Only the account types the ledger accepts for this mapping (deposit to a bank
            # or Undeposited Funds, income to income accounts...).
            accounts = _grouped(
                account_types.accounts_for(provider, name, catalog.accounts),
                str(_("Choose an account")),
            )
            field = self.fields[name]
            self.fields[name] = forms.ChoiceField(
                label=field.label, help_text=field.help_text, choices=accounts, required=False
            )
        self.fields["default_item_id"] = forms.ChoiceField(
            label=_("Default item (lines without a matching item)"),
            choices=_flat(catalog.items, str(_("None"))),
            required=False,
        )
        ledger = ledger_providers().get(provider)
        if ledger is not None and ledger.shipping_by_item:
            self.fields["shipping_item_id"] = shipping_item_field(
                catalog, self.instance, ledger=str(ledger.name)
            )
        else:
            # The ledger's lines name the shipping income account themselves.
            del self.fields["shipping_item_id"]
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
        by_store = self.instance.tax_code_by_store or {}
        by_store_choices = _flat(catalog.tax_codes, str(_("The tax code above")))
        self.store_tax_fields: dict[str, int] = {}
        for store_id, store_name in stores:
            name = STORE_TAX_FIELD % store_id
            self.fields[name] = forms.ChoiceField(
                label=store_name, choices=by_store_choices, required=False
            )
            self.initial.setdefault(name, by_store.get(str(store_id), ""))
            self.store_tax_fields[name] = store_id
        saved_rules = [
            {"country": country, "state": state, "tax_code_id": code}
            for country, state, code in sorted(
                (*destination_parts(key), code)
                for key, code in (self.instance.tax_code_by_destination or {}).items()
            )
        ]
        data = self.data if self.is_bound else None
        # A post without the rules section (not from this page) leaves the rules as saved.
        self._rules_posted = data is not None and (
            f"{DESTINATION_RULES_PREFIX}-TOTAL_FORMS" in data
        )
        self.destination_rules = TaxDestinationRuleFormSet(
            data if self._rules_posted else None,
            initial=saved_rules,
            prefix=DESTINATION_RULES_PREFIX,
            form_kwargs={"tax_codes": _flat(catalog.tax_codes, str(_("Choose a tax code")))},
        )
        self.source_names = connected_source_names(self.instance.organization_id)
        self.marketplace_tax = MarketplaceTaxFields(self, stores)
        self.fields["label_vendor_mode"].choices = label_vendor_choices(self.source_names)

    @property
    def store_tax_field_names(self) -> str:
        """For ``{% include "accounting/_fields.html" with fields=... %}``."""
        return " ".join(self.store_tax_fields)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if self._rules_posted:
            valid = self.destination_rules.is_valid() and valid
        return valid

    def tax_code_values(self) -> dict[str, dict[str, str]]:
        """The two tax code maps to save, from a valid form. A store whose select was not
        posted keeps its saved code; stores no longer in the organization are dropped."""
        saved = self.instance.tax_code_by_store or {}
        by_store: dict[str, str] = {}
        for name, store_id in self.store_tax_fields.items():
            key = str(store_id)
            code = self.cleaned_data.get(name, "") if name in self.data else saved.get(key, "")
            if code:
                by_store[key] = code
        if self._rules_posted:
            by_destination = self.destination_rules.tax_code_by_destination()
        else:
            by_destination = dict(self.instance.tax_code_by_destination or {})
        return {"tax_code_by_store": by_store, "tax_code_by_destination": by_destination}

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
        if "shipping_item_id" in self.fields:
            sections["shipping_item_id"] = "items"
        stale = []
        for name, section in sections.items():
            value = getattr(self.instance, name, "")
            if value and value not in self.catalog.ids(section):
                stale.append(str(self.fields[name].label))
        return stale + self._stale_tax_codes()

    def wrong_account_types(self) -> list[str]:
        """Labels of account mappings saved with an account of a type the ledger refuses
        there (e.g. deposits to an income account; shown on GET)."""
        by_id = {a.id: a for a in self.catalog.accounts}
        return [
            str(self.fields[name].label)
            for name in ACCOUNT_FIELDS
            if (entry := by_id.get(getattr(self.instance, name, "") or ""))
            and not account_types.allows(self.provider, name, entry)
        ]

    def _stale_tax_codes(self) -> list[str]:
        stale = []
        tax_codes = self.catalog.ids("tax_codes")
        by_store = self.instance.tax_code_by_store or {}
        for name, store_id in self.store_tax_fields.items():
            code = by_store.get(str(store_id), "")
            if code and code not in tax_codes:
                stale.append(str(_("Tax code of %(store)s") % {"store": self.fields[name].label}))
        for key, code in sorted((self.instance.tax_code_by_destination or {}).items()):
            if code and code not in tax_codes:
                stale.append(str(_("Tax code for %(destination)s") % {"destination": key}))
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
        self.marketplace_tax.clean(data)
        if data.get("trigger") == PostingTrigger.SCHEDULE and not data.get(
            "schedule_interval_minutes"
        ):
            self.add_error("schedule_interval_minutes", _("Choose how often to post."))
        return data
