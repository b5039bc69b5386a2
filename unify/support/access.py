"""Who may open the support console (``/support/``): staff with a second factor.

Everyone else gets a 404 on every support URL (the console's existence is not advertised);
a staff member without an authenticator app is sent to set one up first, as for the admin.
Support staff (``is_staff``) use the console; superusers also have Django's admin."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from unify.core.middleware import staff_has_mfa


def support_staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff or not user.is_active:
            raise Http404
        if not staff_has_mfa(user):
            messages.warning(
                request,
                _(
                    "Support staff need two-factor authentication to use the support "
                    "console. Set up an authenticator app, then open it again."
                ),
            )
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return view(request, *args, **kwargs)

    wrapped.support_staff_required = True  # the URL walker checks every support view has it
    return wrapped
