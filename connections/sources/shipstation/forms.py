"""ShipStation's credentials forms: an API Key and an API Secret (Settings > Account > API
Settings in ShipStation)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from connections.forms import ConnectionSetupFields, secret_widget
from connections.sources.shipstation.client import PROVIDER

_KEY_CHARACTERS = re.compile(r"[A-Za-z0-9-]+")
KEY_CHARACTERS_MESSAGE = _(
    "API keys contain only letters, digits and dashes; check what you pasted."
)


def key_characters_valid(value: str) -> bool:
    """Only ASCII letters, digits and dashes (what ShipStation issues)."""
    return _KEY_CHARACTERS.fullmatch(value) is not None


class ShipStationKeysForm(forms.Form):
    api_key = forms.CharField(
        label=_("API Key"), max_length=200, strip=True, widget=secret_widget()
    )
    api_secret = forms.CharField(
        label=_("API Secret"), max_length=200, strip=True, widget=secret_widget()
    )

    # Checked here, before anything is sent: a character Basic auth cannot carry would
    # otherwise fail inside the HTTP library. The message never repeats what was pasted.
    @sensitive_variables()
    def clean_api_key(self) -> str:
        return _checked_key(self.cleaned_data["api_key"])

    @sensitive_variables()
    def clean_api_secret(self) -> str:
        return _checked_key(self.cleaned_data["api_secret"])


@sensitive_variables()
def _checked_key(value: str) -> str:
    if not key_characters_valid(value):
        raise forms.ValidationError(KEY_CHARACTERS_MESSAGE, code="characters")
    return value


class ShipStationConnectForm(ConnectionSetupFields, ShipStationKeysForm):
    provider = PROVIDER
    name = forms.CharField(
        label=_("Connection name"),
        max_length=120,
        required=False,
        help_text=_("How this ShipStation account is called in Unify, e.g. “Main warehouse”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    mode = forms.ChoiceField(
        label=_("How should Unify use ShipStation?"),
        choices=ConnectionSetupFields.mode_choices(),
        initial=ConnectionSetupFields.default_mode(),
        widget=forms.RadioSelect,
    )
