"""Helpers the Connections tab's views share."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from connections import services


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"connections:{name}", kwargs={"org_slug": request.organization.slug, **kwargs})


def _put_error(form, exc: services.ConnectionRefused) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.user_message)
