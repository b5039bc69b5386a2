"""Request headers that only the reverse proxy may set; a second factor for staff."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

# What a proxy tells about the original request: scheme, client address, host, port.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_PROTOCOL",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_FORWARDED",
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXY_IPS: {value!r} is not an IP address or network"
            ) from exc
    return tuple(networks)


def is_trusted_proxy(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXY_IPS", ())))
    return any(ip.version == net.version and ip in net for net in networks)


class TrustedProxyHeadersMiddleware:
    """Drops ``X-Forwarded-*`` / ``Forwarded`` unless the peer is one of
    ``TRUSTED_PROXY_IPS``: a client that reaches the server past the proxy cannot claim
    HTTPS (``SECURE_PROXY_SSL_HEADER``) or choose the address that rate limits and the audit
    log see. First in ``MIDDLEWARE``."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
            for name in FORWARDED_HEADERS:
                request.META.pop(name, None)
        return self.get_response(request)


class StaffMFARequiredMiddleware:
    """Staff reach every organization's data through the admin: with a password alone they
    may not. A staff member without an authenticator app is sent to set one up (allauth asks
    for the password first) before any admin page opens. After the authentication
    middlewares in ``MIDDLEWARE``."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and request.path.startswith(reverse("admin:index"))
            and not staff_has_mfa(user)
        ):
            messages.warning(
                request,
                _(
                    "Support staff need two-factor authentication to use the admin. Set up "
                    "an authenticator app, then open the admin again."
                ),
            )
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


def staff_has_mfa(user) -> bool:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import is_mfa_enabled

    # Recovery codes alone are a fallback, not a second factor.
    return is_mfa_enabled(user, types=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN])
