"""A member locked out of signing in, and unlocking them (the support console's action).

Unify keeps no lockout of its own: allauth's ``login_failed`` rate limit does it, in the
cache. After too many wrong passwords for one email (allauth's default, 5 in 300 s, as
``ACCOUNT_RATE_LIMITS`` is not set) the sign-in form refuses that email, and after too many
wrong authenticator codes the second step refuses that person. Both buckets are per person
(the per-IP bucket is the signing-in computer's, not the member's, and is left alone).
"""

from __future__ import annotations

from allauth.account import app_settings as account_settings
from allauth.account.adapter import get_adapter
from allauth.core.internal import ratelimit
from django.http import HttpRequest

_APP = "allauth.account"
_ACTION = "login_failed"


def _per_person_rates() -> dict[str, str]:
    """The ``login_failed`` rates counted per key (email or person), as allauth reads them."""
    rates = ratelimit.get_rates(app=_APP, action=_ACTION, config=account_settings.RATE_LIMITS)
    per_key = [f"{r.amount}/{r.duration:g}s/{r.per}" for r in rates if r.per == "key"]
    return {_ACTION: ",".join(per_key)}


def _keys(request: HttpRequest, user) -> list[str]:
    # The same keys allauth counts under: the sign-in form's (site and email) and the
    # second step's (mfa.base.internal.flows.check_rate_limit).
    password_key = get_adapter(request)._get_login_attempts_cache_key(request, email=user.email)
    return [password_key, f"mfa-auth-user-{user.pk}"]


def login_locked_out(request: HttpRequest, user) -> bool:
    """True while the next sign-in of this person would be refused for too many failures."""
    config = _per_person_rates()
    if not config[_ACTION]:
        return False
    return any(
        ratelimit.consume(
            request,
            app=_APP,
            action=_ACTION,
            config=config,
            key=key,
            dry_run=True,
            limit_get=True,
        )
        is None
        for key in _keys(request, user)
    )


def login_lockout_clear(request: HttpRequest, user) -> bool:
    """Forget this person's failed sign-ins (password and second step). Returns whether
    they were locked out."""
    was_locked = login_locked_out(request, user)
    config = _per_person_rates()
    for key in _keys(request, user):
        ratelimit.clear(request, app=_APP, action=_ACTION, config=config, key=key)
    return was_locked
