"""Forms of the Sales tab. The filter form reads the URL's query string; a value it cannot read
is dropped (and shown as an error) instead of failing the whole page, so an old bookmark
still opens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from connections.sources.statuses import ORDER_STATUS_LABELS
from sales.filters import DATE_PRESETS, LABEL_CHOICES, SEARCH_MAX_LENGTH, OrderFilters, preset_range
from sales.models import PostingStatus
from sales.selectors_tab import DEFAULT_PAGE_SIZE, DEFAULT_SORT, PAGE_SIZES, SORT_CHOICES
from sales.sources import reimport_label
from unify.tenancy.models import Organization

ORDER_STATUS_CHOICES = (("", _("Any order status")), *ORDER_STATUS_LABELS.items())


class OrderFilterForm(forms.Form):
    preset = forms.ChoiceField(label=_("Date"), choices=DATE_PRESETS, required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    store = forms.TypedChoiceField(label=_("Store"), coerce=int, required=False, empty_value=None)
    connection = forms.TypedChoiceField(
        label=_("Connection"), coerce=int, required=False, empty_value=None
    )
    status = forms.ChoiceField(
        label=_("Order status"), choices=ORDER_STATUS_CHOICES, required=False
    )
    posting = forms.ChoiceField(
        label=_("Posting status"),
        choices=[("", _("Any posting status")), *PostingStatus.choices],
        required=False,
    )
    label = forms.ChoiceField(label=_("Label cost"), choices=LABEL_CHOICES, required=False)
    difference = forms.BooleanField(label=_("Has reconciliation difference"), required=False)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Order number, customer, email or SKU")}
        ),
    )
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)
    per = forms.TypedChoiceField(
        label=_("Orders per page"),
        choices=[(n, n) for n in PAGE_SIZES],
        coerce=int,
        required=False,
        empty_value=None,
    )

    def __init__(
        self,
        data: Any = None,
        *,
        stores: Sequence[tuple[int, str]] = (),
        connections: Sequence[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        if data is not None and not data.get("per"):
            # Without a choice in the URL the list shows DEFAULT_PAGE_SIZE orders; the select
            # says so (it would otherwise show its first option, 25, over a page of 50).
            data = data.copy()
            data["per"] = str(DEFAULT_PAGE_SIZE)
        super().__init__(data, **kwargs)
        self.fields["store"].choices = [("", _("Any store")), *stores]
        self.fields["connection"].choices = [("", _("Any connection")), *connections]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def _value(self, name: str) -> Any:
        """The field's clean value, or nothing when the URL's value was not valid."""
        if not self.is_bound:
            return None
        self.is_valid()
        if name in self.errors:
            return None
        return self.cleaned_data.get(name)

    def filters(self, *, organization: Organization, now: datetime | None = None) -> OrderFilters:
        preset = self._value("preset") or ""
        if not preset and (self._value("date_from") or self._value("date_to")):
            preset = "custom"  # dates typed without choosing "Custom range" first
        start, end = preset_range(
            preset,
            tz=organization.tzinfo,
            now=now,
            date_from=self._value("date_from"),
            date_to=self._value("date_to"),
        )
        return OrderFilters(
            date_from=start,
            date_until=end,
            store_id=self._value("store"),
            connection_id=self._value("connection"),
            status=self._value("status") or "",
            posting_status=self._value("posting") or "",
            label=self._value("label") or "",
            difference=bool(self._value("difference")),
            q=(self._value("q") or "").strip(),
            preset=preset,
        )

    @property
    def chosen_sort(self) -> str:
        return self._value("sort") or DEFAULT_SORT

    @property
    def chosen_page_size(self) -> int:
        return self._value("per") or DEFAULT_PAGE_SIZE


# Query parameters that make up the filter set (not the page position).
FILTER_PARAMS = (
    "preset", "date_from", "date_to", "store", "connection", "status", "posting", "label",
    "difference", "q", "sort", "per",
)  # fmt: skip


class OrderIdsField(forms.Field):
    """Every ``ids`` value of the form (the ticked checkboxes), as positive integers."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        ids = []
        for item in value:
            try:
                number = int(item)
            except (TypeError, ValueError):
                raise forms.ValidationError(_("That is not an order of this list.")) from None
            if number <= 0:
                raise forms.ValidationError(_("That is not an order of this list."))
            ids.append(number)
        return ids


class OrderSelectionForm(forms.Form):
    """The orders an action applies to: ticked rows, or every order of the filter set."""

    ACTIONS = (
        ("ignore", _("Ignore")),
        ("unignore", _("Un-ignore")),
        ("reimport", reimport_label()),
        ("post", _("Post")),
        ("retry", _("Retry failed")),
    )
    SCOPES = (("selected", _("Selected orders")), ("filtered", _("All filtered orders")))
    # More than a page at the largest page size is not a selection, it is a filter.
    MAX_SELECTED = 500

    action = forms.ChoiceField(choices=ACTIONS)
    scope = forms.ChoiceField(choices=SCOPES, required=False)
    ids = OrderIdsField(required=False)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        # "ignore:filtered" from one button carries both the action and the scope.
        if data is not None and ":" in (data.get("action") or ""):
            data = data.copy()
            action, _sep, scope = data["action"].partition(":")
            data["action"], data["scope"] = action, scope
        super().__init__(data, **kwargs)

    def clean_ids(self) -> list[int]:
        ids = self.cleaned_data.get("ids") or []
        if len(ids) > self.MAX_SELECTED:
            raise forms.ValidationError(
                _("Select at most %(n)s orders, or use the action on all filtered orders."),
                params={"n": self.MAX_SELECTED},
            )
        return list(dict.fromkeys(ids))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cleaned["scope"] = cleaned.get("scope") or "selected"
        if cleaned["scope"] == "selected" and not cleaned.get("ids") and "ids" not in self.errors:
            raise forms.ValidationError(_("Select at least one order first."))
        if cleaned.get("action") == "reimport" and cleaned["scope"] == "filtered":
            raise forms.ValidationError(_("Re-import works on selected orders only."))
        return cleaned
