"""Bootstrap classes for Django form widgets, so every form (ours and allauth's) renders the
same way through ``templates/includes/form_fields.html`` without per-form widget attrs."""

from __future__ import annotations

from django import forms, template
from django.utils.safestring import SafeString

register = template.Library()

_CHOICE_LISTS = (forms.RadioSelect, forms.CheckboxSelectMultiple)


def _css_class(widget: forms.Widget) -> str:
    if isinstance(widget, _CHOICE_LISTS):
        return "form-check-input"
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select | forms.SelectMultiple):
        return "form-select"
    if isinstance(widget, forms.FileInput):
        return "form-control"
    return "form-control"


@register.filter
def is_choice_list(bound_field: forms.BoundField) -> bool:
    return isinstance(bound_field.field.widget, _CHOICE_LISTS)


@register.filter
def is_checkbox(bound_field: forms.BoundField) -> bool:
    return isinstance(bound_field.field.widget, forms.CheckboxInput)


@register.filter
def bootstrap_widget(bound_field: forms.BoundField) -> SafeString:
    """Render the widget with Bootstrap classes, error state and its help text linked."""
    widget = bound_field.field.widget
    classes = [c for c in (widget.attrs.get("class", ""), _css_class(widget)) if c]
    attrs: dict[str, str] = {}
    if bound_field.errors:
        classes.append("is-invalid")
        attrs["aria-invalid"] = "true"
    if bound_field.help_text:
        attrs["aria-describedby"] = f"{bound_field.auto_id}_help"
    attrs["class"] = " ".join(dict.fromkeys(" ".join(classes).split()))
    return bound_field.as_widget(attrs=attrs)


@register.filter
def button_classes(tags: list[str] | None) -> str:
    """Bootstrap classes for allauth's ``{% element button tags=... %}`` vocabulary."""
    tags = set(tags or ())
    if "link" in tags:
        style = "btn-link"
    elif tags & {"danger", "delete"}:
        style = "btn-outline-danger"
    elif tags & {"secondary", "cancel"}:
        style = "btn-outline-secondary"
    elif "outline" in tags:
        style = "btn-outline-primary"
    elif "warning" in tags:
        style = "btn-warning"
    else:
        style = "btn-primary"
    classes = ["btn", style]
    if "minor" in tags:
        classes.append("btn-sm")
    if "prominent" in tags:
        classes.append("w-100")
    return " ".join(classes)


@register.filter
def badge_classes(tags: list[str] | None) -> str:
    tags = set(tags or ())
    for tone in ("success", "warning", "danger", "primary"):
        if tone in tags:
            return f"badge text-bg-{tone}"
    return "badge text-bg-secondary"


@register.filter
def alert_classes(tags: list[str] | None) -> str:
    tags = set(tags or ())
    for tone in ("danger", "warning", "success"):
        if tone in tags:
            return f"alert alert-{tone}"
    if "error" in tags:
        return "alert alert-danger"
    return "alert alert-info"
