from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from allauth.account.decorators import reauthentication_required
from allauth.core.exceptions import ReauthenticationRequired
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.utils.translation import gettext as _

from unify.tenancy.models import Role


def require_role(role: str = Role.MEMBER):
    """Allow the view only to members of the URL's organization with at least ``role``."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None:
                raise Http404
            if not membership.has_role(role):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_role = role
        return wrapped

    return decorator


def require_reauthentication(back: Callable[[HttpRequest], str] | None = None):
    """The password (or an MFA code) again before an action that cannot be undone or that
    changes credentials: deleting the organization, disconnecting, new API keys.

    allauth's reauthentication (``ACCOUNT_REAUTHENTICATION_TIMEOUT``): a confirmation counts
    for a few minutes. Pages (GET) send the person to confirm and back. A POST that comes too
    late is never stashed in the session for replay (it may carry API keys): the person
    confirms and comes back to ``back(request)`` (default: the same address) to submit again.
    Goes inside ``require_role`` so that only people allowed the action are asked.
    """

    def decorator(view):
        guarded = reauthentication_required(view)

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                return guarded(request, *args, **kwargs)
            except ReauthenticationRequired:
                if request.method == "GET":
                    raise  # allauth's middleware: confirm, then back to this page
            methods = get_adapter(request).get_reauthentication_methods(request.user)
            if not methods:
                raise PermissionDenied
            target = back(request) if back is not None else request.get_full_path()
            messages.info(request, _("Confirm it is you, then submit again."))
            return HttpResponseRedirect(
                f"{methods[0]['url']}?{urlencode({REDIRECT_FIELD_NAME: target})}"
            )

        return wrapped

    return decorator
