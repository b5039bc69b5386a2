"""``{{ form|fields_named:"a b c" }}``: a subset of a form's fields, in that order."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def fields_named(form, names: str) -> list:
    return [form[name] for name in names.split() if name in form.fields]
