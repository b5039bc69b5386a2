"""The "Marketplace collects tax" part of the posting settings form: one checkbox per store
(its default read from the store's marketplace) and what to do with that tax."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounting.models import MarketplaceTaxTreatment
from accounting.services.differences import store_collects_tax

STORE_FIELD = "marketplace_tax_store_%s"
# Posted with the section, so a post without it (not from this page) keeps the saved
# choices instead of reading every unticked checkbox as "off".
SECTION_FIELD = "marketplace_tax_section"


class MarketplaceTaxFields:
    """Adds the section's fields to the posting settings form and reads them back."""

    def __init__(self, form: forms.ModelForm, stores: list[tuple[int, str]]) -> None:
        from connections.models import SourceStore

        self.form = form
        settings_obj = form.instance
        # As saved (the model form writes its cleaned values into the instance).
        self.saved_by_store = dict(settings_obj.marketplace_tax_by_store or {})
        self.saved_treatment = settings_obj.marketplace_tax_treatment
        markets = dict(
            SourceStore.objects.for_org(settings_obj.organization_id)
            .filter(pk__in=[pk for pk, _l in stores])
            .values_list("pk", "marketplace_name")
        )
        self.store_fields: dict[str, int] = {}
        for store_id, label in stores:
            name = STORE_FIELD % store_id
            form.fields[name] = forms.BooleanField(label=label, required=False)
            form.initial.setdefault(
                name, store_collects_tax(settings_obj, store_id, markets.get(store_id) or "")
            )
            self.store_fields[name] = store_id
        form.fields[SECTION_FIELD] = forms.CharField(
            widget=forms.HiddenInput, required=False, initial="1"
        )
        treatment = form.fields["marketplace_tax_treatment"]
        treatment.required = False  # a post without the section keeps the saved choice
        # The connected sources by name (the posting settings form's ``source_names``).
        self.source_label = " / ".join(getattr(form, "source_names", ())) or str(
            _("your order source")
        )
        treatment.help_text = _(
            "Marketplaces such as Amazon, eBay, Walmart and Etsy collect the sales tax and "
            "remit it themselves: %(source)s shows the tax, but what the buyer paid you "
            "excludes it. That tax is not your liability."
        ) % {"source": self.source_label}

    @property
    def store_field_names(self) -> str:
        """For ``{% include "accounting/_fields.html" with fields=... %}``."""
        return " ".join(self.store_fields)

    def clean(self, data: dict[str, Any]) -> None:
        if data.get("marketplace_tax_treatment") == MarketplaceTaxTreatment.CLEARING and not (
            data.get("marketplace_tax_account_id")
        ):
            self.form.add_error(
                "marketplace_tax_account_id",
                _("Choose the clearing account for tax the marketplace collected."),
            )

    def values(self) -> dict[str, Any]:
        """``marketplace_tax_by_store`` to save from a valid form: every store's choice
        (explicit, so a later change of its marketplace does not flip it)."""
        treatment = self.form.cleaned_data.get("marketplace_tax_treatment") or (
            self.saved_treatment
        )
        if SECTION_FIELD not in self.form.data:
            by_store = self.saved_by_store
        else:
            by_store = {
                str(store_id): bool(self.form.cleaned_data.get(name))
                for name, store_id in self.store_fields.items()
            }
        return {"marketplace_tax_by_store": by_store, "marketplace_tax_treatment": treatment}
