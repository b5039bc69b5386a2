"""The destination rules of the posting settings form: one row per country (+ state or
province) -> tax code, saved as ``PostingSettings.tax_code_by_destination``."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")
# State or province as the order's ship-to carries it: "CA", "ON", "NSW", "Bavaria".
STATE_RE = re.compile(r"^[^\W_](?:[\w .'\-]*[^\W_])?$")
DESTINATION_BLANK_ROWS = 3


def destination_key(country: str, state: str) -> str:
    """The key of ``PostingSettings.tax_code_by_destination``: "US-CA", or "US" for a whole
    country (what ``accounting.services.documents`` looks up)."""
    country, state = country.strip().upper(), state.strip().upper()
    return f"{country}-{state}" if state else country


def destination_parts(key: str) -> tuple[str, str]:
    country, _sep, state = key.strip().upper().partition("-")
    return country, state


class TaxDestinationRuleForm(forms.Form):
    """One row of the destination rules: country (+ state or province) -> tax code. A row
    left or made empty is no rule."""

    country = forms.CharField(
        label=_("Country code"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": "US", "autocomplete": "off", "size": 3, "maxlength": 2}
        ),
    )
    state = forms.CharField(
        label=_("State or province (empty: the whole country)"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "CA", "autocomplete": "off", "size": 6}),
    )
    tax_code_id = forms.ChoiceField(label=_("Tax code"), choices=(), required=False)

    def __init__(self, *args, tax_codes: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tax_code_id"].choices = tax_codes

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip()
        if country and not COUNTRY_RE.match(country):
            raise forms.ValidationError(_("Enter the two-letter country code, e.g. US or CA."))
        return country.upper()

    def clean_state(self) -> str:
        state = " ".join(self.cleaned_data.get("state", "").split())
        if state and not STATE_RE.match(state):
            raise forms.ValidationError(
                _("Enter the state or province as orders carry it, e.g. CA or ON.")
            )
        return state.upper()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if not (data.get("country") or data.get("state") or data.get("tax_code_id")):
            return data
        if not data.get("country"):
            self.add_error("country", _("Enter the two-letter country code, e.g. US or CA."))
        if not data.get("tax_code_id"):
            self.add_error("tax_code_id", _("Choose the tax code for this destination."))
        return data

    @property
    def rule(self) -> tuple[str, str] | None:
        """(destination key, tax code) of a valid, filled-in row."""
        data = getattr(self, "cleaned_data", None) or {}
        if not (data.get("country") and data.get("tax_code_id")):
            return None
        return destination_key(data["country"], data.get("state", "")), data["tax_code_id"]


class BaseTaxDestinationRuleFormSet(forms.BaseFormSet):
    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Remove this rule")

    def _kept(self) -> list[TaxDestinationRuleForm]:
        return [
            form for form in self.forms if not (self.can_delete and self._should_delete_form(form))
        ]

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[str] = set()
        for form in self._kept():
            rule = form.rule
            if rule is None:
                continue
            if rule[0] in seen:
                form.add_error(
                    "country",
                    _("There is already a rule for %(destination)s.") % {"destination": rule[0]},
                )
            seen.add(rule[0])

    def tax_code_by_destination(self) -> dict[str, str]:
        rules = dict(form.rule for form in self._kept() if form.rule is not None)
        return dict(sorted(rules.items()))


TaxDestinationRuleFormSet = forms.formset_factory(
    TaxDestinationRuleForm,
    formset=BaseTaxDestinationRuleFormSet,
    extra=DESTINATION_BLANK_ROWS,
    can_delete=True,
    max_num=200,
    validate_max=True,
)
