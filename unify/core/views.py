"""Error views that Django lets a project replace."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form whose CSRF check failed (``CSRF_FAILURE_VIEW``): the styled page, with the
    request's context (navigation, user menu), instead of Django's bare one. ``reason`` is
    for logs only (Django logs it already)."""
    return render(request, "403_csrf.html", status=403)
