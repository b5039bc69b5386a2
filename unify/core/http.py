"""The one base every provider API client sits on.

It owns what each client would otherwise get slightly wrong on its own:

- connect/read timeouts on every request (a missing timeout hangs a worker forever);
- transport failures and HTTP statuses mapped to the error tree in
  :mod:`unify.core.exceptions` (401 -> ``ProviderAuthError``, 429 -> ``ProviderRateLimited``,
  400 -> ``ProviderRejected``, 5xx/timeouts/refused connections -> ``ProviderUnavailable``,
  unreadable bodies -> ``ProviderResponseInvalid``);
- JSON parsed with ``parse_float=Decimal`` so money never passes through a float;
- a rate-limiter hook (:class:`RateLimiter`) called before each request and fed the
  provider's rate-limit headers after each answer;
- logging of method, path, status and duration only: never headers (``Authorization``),
  never request bodies, never the credentials the auth object holds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import msgspec
import requests
from django.views.decorators.debug import sensitive_variables

from unify.core.exceptions import (
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from unify.core.logging import redact

logger = logging.getLogger("unify.http")

# How much of an error body is kept in an exception message (for support, never shown raw).
_ERROR_SNIPPET = 300


class RateLimiter(Protocol):
    """What a client needs from a shared rate limiter.

    ``key`` identifies one provider budget (e.g. a fingerprint of a source's API key,
    never the key itself). ``acquire`` blocks until a request may be sent (or raises
    ``ProviderRateLimited`` when it will not wait); ``observe`` feeds the provider's answer
    headers back (``X-Rate-Limit-Remaining``/``-Reset``), including on a 429.
    """

    def acquire(self, key: str) -> None: ...

    def observe(self, key: str, headers: Mapping[str, str]) -> None: ...


class NoRateLimit:
    """The default hook: sends at once, ignores headers. The import installs a real one."""

    def acquire(self, key: str) -> None:
        return None

    def observe(self, key: str, headers: Mapping[str, str]) -> None:
        return None


# msgspec reads a large list page several times faster than the standard library and gives
# the same values (dicts, lists, ``int`` of any size, ``Decimal`` from the number's own text).
_decoder = msgspec.json.Decoder(float_hook=Decimal)


def parse_json(data: bytes | str) -> Any:
    """JSON with exact money: every number with a fraction becomes a ``Decimal``.

    What msgspec refuses but the standard library reads (``NaN``, a lone surrogate escape)
    or neither reads goes through ``json.loads``: its values, or its ``ValueError``."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError:
        return json.loads(data, parse_float=Decimal)


def _snippet(response: requests.Response) -> str:
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - the body is only decoration for the message
        return ""
    return redact(" ".join(text.split())[:_ERROR_SNIPPET])


class ApiClient:
    """Base of provider clients. Subclasses set ``provider`` and implement ``base_url()``
    and ``timeouts()`` (read from settings at call time, never at import time)."""

    provider: ClassVar[str] = ""

    def __init__(
        self,
        *,
        auth: requests.auth.AuthBase | tuple[str, str] | None = None,
        rate_limiter: RateLimiter | None = None,
        rate_limit_key: str = "",
        connection_id: int | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._session = session or requests.Session()
        # Credentials live only inside the session's auth object; nothing on this client
        # exposes them, and ``__repr__`` below is explicit about it.
        self._session.auth = auth
        self.rate_limiter: RateLimiter = rate_limiter or NoRateLimit()
        self.rate_limit_key = rate_limit_key
        self.connection_id = connection_id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.provider} connection={self.connection_id}>"

    # -- subclass hooks -----------------------------------------------------------------------

    def base_url(self) -> str:
        raise NotImplementedError

    def timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds."""
        raise NotImplementedError

    def default_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    def retry_after(self, response: requests.Response) -> float:
        """Seconds to wait after a 429. Subclasses read their provider's header."""
        value = response.headers.get("Retry-After", "")
        try:
            return max(1.0, float(value))
        except ValueError:
            return 60.0

    def rejected_message(self, body: Any) -> str:
        """The provider's own words for a 400, if the body says something."""
        if isinstance(body, dict):
            for key in ("message", "Message", "ExceptionMessage", "error", "error_description"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    return value
        return ""

    # -- requests -----------------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        return self.base_url().rstrip("/") + "/" + path.lstrip("/")

    def request_json(
        self,
        method: str,
        path: str = "",
        *,
        url: str | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        allow_empty: bool = False,
        decode: Callable[[bytes], Any] = parse_json,
    ) -> Any:
        """Send one request and return the parsed JSON body (``None`` for an allowed empty
        body). ``url`` (absolute) replaces ``path``; callers check where it points first.
        ``decode`` reads the body (it raises ``ValueError`` for what is not JSON)."""
        target = url if url is not None else self.url_for(path)
        response = self._send(method, target, params=params, json_body=json_body)
        return self._read_json(response, allow_empty=allow_empty, decode=decode)

    def _error(self, cls: type[IntegrationError], message: str, **kwargs: Any) -> IntegrationError:
        return cls(message, provider=self.provider, connection_id=self.connection_id, **kwargs)

    # Every frame under this one (the HTTP library's, which hold the auth header) is hidden
    # from error pages; see unify/core/error_reports.py.
    @sensitive_variables()
    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
    ) -> requests.Response:
        self.rate_limiter.acquire(self.rate_limit_key)
        path = urlsplit(url).path
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=json_body,
                headers=self.default_headers(),
                timeout=self.timeouts(),
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            logger.warning("%s %s %s timed out", self.provider, method, path)
            raise self._error(
                ProviderUnavailable,
                f"{self.provider} {method} {path}: timed out ({exc.__class__.__name__})",
            ) from None
        except requests.ConnectionError as exc:
            logger.warning("%s %s %s connection failed", self.provider, method, path)
            raise self._error(
                ProviderUnavailable,
                f"{self.provider} {method} {path}: connection failed ({exc.__class__.__name__})",
            ) from None
        except requests.RequestException as exc:
            raise self._error(
                ProviderUnavailable,
                f"{self.provider} {method} {path}: request failed ({exc.__class__.__name__})",
            ) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug(
            "%s %s %s -> %s in %.0f ms",
            self.provider,
            method,
            path,
            response.status_code,
            elapsed_ms,
        )
        self.rate_limiter.observe(self.rate_limit_key, response.headers)
        self._raise_for_status(method, path, response)
        return response

    def _raise_for_status(self, method: str, path: str, response: requests.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        where = f"{self.provider} {method} {path}: HTTP {status}"
        if status == 401 or status == 403:
            raise self._error(ProviderAuthError, where, status_code=status)
        if status == 429:
            retry_after = self.retry_after(response)
            raise self._error(
                ProviderRateLimited,
                f"{where}, retry after {retry_after:g} s",
                retry_after=retry_after,
                status_code=status,
            )
        if status >= 500 or status in (408, 502, 503, 504):
            raise self._error(
                ProviderUnavailable, f"{where}: {_snippet(response)}", status_code=status
            )
        if 300 <= status < 400:
            # Redirects are not followed: a redirect could carry the Authorization header
            # somewhere else. The providers we call never redirect their API.
            raise self._error(
                ProviderResponseInvalid, f"{where}: unexpected redirect", status_code=status
            )
        body: Any = None
        try:
            body = parse_json(response.content)
        except (ValueError, requests.RequestException):
            body = None
        message = self.rejected_message(body) or _snippet(response)
        field_errors = body if isinstance(body, dict) else {}
        raise self._error(
            ProviderRejected,
            f"{where}: {redact(message)}",
            status_code=status,
            field_errors={k: v for k, v in field_errors.items() if isinstance(k, str)},
            user_message=redact(message) or None,
        )

    def _read_json(
        self,
        response: requests.Response,
        *,
        allow_empty: bool,
        decode: Callable[[bytes], Any] = parse_json,
    ) -> Any:
        path = urlsplit(response.url or "").path
        try:
            content = response.content
        except requests.RequestException as exc:
            # The connection dropped mid-body (content shorter than announced).
            raise self._error(
                ProviderResponseInvalid,
                f"{self.provider} {path}: body cut off ({exc.__class__.__name__})",
                status_code=response.status_code,
            ) from None
        if not content.strip():
            if allow_empty:
                return None
            raise self._error(
                ProviderResponseInvalid,
                f"{self.provider} {path}: empty body where JSON was expected",
                status_code=response.status_code,
            )
        try:
            return decode(content)
        except (ValueError, RecursionError) as exc:
            raise self._error(
                ProviderResponseInvalid,
                f"{self.provider} {path}: unreadable JSON ({exc.__class__.__name__}: "
                f"{str(exc)[:120]}; {len(content)} bytes)",
                status_code=response.status_code,
            ) from None
