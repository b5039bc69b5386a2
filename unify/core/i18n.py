"""Which language a person reads: their profile's choice, else the browser's.

- ``UserLanguageMiddleware`` (after the session and LocaleMiddleware): a signed-in person's
  profile language, copied into the session at sign-in and when they change it (no query per
  request), wins over the cookie and Accept-Language that LocaleMiddleware read.
- ``set_language``: the footer switcher; Django's view (cookie, redirect back), and for a
  signed-in person their profile too.
- ``send_mail_each_language``: one email per language of the recipients, each built and sent
  under ``translation.override`` (a task has no request; an owner reads their own language).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.i18n import set_language as django_set_language

logger = logging.getLogger(__name__)

SESSION_KEY = "unify_language"


def language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def user_language(user) -> str:
    """The person's chosen language, or "" (none chosen)."""
    from unify.tenancy.models import UserProfile

    if user is None or not getattr(user, "pk", None):
        return ""
    code = UserProfile.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    return code if code in language_codes() else ""


def set_user_language(user, code: str, request: HttpRequest | None = None) -> None:
    from unify.tenancy.models import UserProfile

    code = code if code in language_codes() else ""
    UserProfile.objects.update_or_create(user=user, defaults={"language": code})
    if request is not None and hasattr(request, "session"):
        remember_in_session(request, code)


def remember_in_session(request: HttpRequest, code: str) -> None:
    if code:
        request.session[SESSION_KEY] = code
        translation.activate(code)
        request.LANGUAGE_CODE = code
    else:
        request.session.pop(SESSION_KEY, None)


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        code = session.get(SESSION_KEY) if session is not None else None
        if code and code in language_codes():
            translation.activate(code)
            request.LANGUAGE_CODE = code
        return self.get_response(request)


def set_language(request: HttpRequest) -> HttpResponse:
    response = django_set_language(request)
    code = request.POST.get("language", "")
    if request.method == "POST" and code in language_codes():
        if request.user.is_authenticated:
            set_user_language(request.user, code, request)
        elif hasattr(request, "session"):
            request.session.pop(SESSION_KEY, None)
    return response


def languages_of(emails: Iterable[str], *, default: str | None = None) -> dict[str, list[str]]:
    """Recipients grouped by the language they read: their profile's, else ``default`` (the
    language in effect, e.g. the inviter's), else the site's."""
    fallback = default or translation.get_language() or settings.LANGUAGE_CODE
    if fallback not in language_codes():
        fallback = settings.LANGUAGE_CODE
    emails = [e for e in emails if e]
    chosen = dict(
        get_user_model()
        .objects.filter(email__in=emails, unify_profile__language__in=language_codes())
        .values_list("email", "unify_profile__language")
    )
    groups: dict[str, list[str]] = {}
    for email in emails:
        groups.setdefault(chosen.get(email) or fallback, []).append(email)
    return groups


def send_mail_each_language(
    recipients: Iterable[str],
    build: Callable[[], tuple[str, str]],
    *,
    from_email: str | None = None,
    default: str | None = None,
    fail_silently: bool = False,
) -> None:
    """``build()`` returns (subject, body); it runs once per language, under that language."""
    for code, emails in languages_of(recipients, default=default).items():
        with translation.override(code):
            subject, body = build()
            send_mail(str(subject), str(body), from_email, emails, fail_silently=fail_silently)
