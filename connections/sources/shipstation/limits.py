"""ShipStation's budget: 40 requests a minute per key pair (a fixed window), shared by every
worker and every app using the same keys."""

from __future__ import annotations

from django.conf import settings

from unify.core.ratelimit import Budget, SlidingWindowLimiter


def shipstation_budget() -> Budget:
    window = float(getattr(settings, "SHIPSTATION_RATE_LIMIT_WINDOW_SECONDS", 60.0))
    margin = getattr(settings, "SHIPSTATION_RATE_LIMIT_MARGIN_SECONDS", None)
    if margin is None:
        # Enough for the request to travel; small next to the window.
        margin = min(1.0, window / 10)
    return Budget(
        limit=int(settings.SHIPSTATION_RATE_LIMIT_PER_MINUTE),
        window_seconds=window,
        margin_seconds=float(margin),
    )


def shipstation_rate_limiter(**kwargs) -> SlidingWindowLimiter:
    """The limiter every ShipStation client of this process uses. The client passes
    ``shipstation:<key fingerprint>`` as the key, so one key pair is one budget."""
    kwargs.setdefault(
        "shrink_seconds",
        lambda: float(getattr(settings, "SHIPSTATION_RATE_LIMIT_SHRINK_SECONDS", 600.0)),
    )
    return SlidingWindowLimiter(shipstation_budget, provider="shipstation", **kwargs)
