"""What error pages and error e-mails may show: never a credential, in DEBUG or not.

Django's own filter hides the variables of functions marked ``@sensitive_variables`` and the
POST fields marked ``@sensitive_post_parameters``, but only when ``DEBUG`` is off: the debug
page under ``make run`` would show a source's API key pasted into the connect form, or an OAuth
token, to whoever looks at the screen. Unify's filter is always active, and it also hides GET
parameters marked with :func:`sensitive_get_parameters` (an OAuth callback's ``code``) in the
query string, the request's address and the GET table.

Marking a function ``@sensitive_variables()`` (no names) hides the locals of every frame it
calls too (Django looks for the nearest marked caller), so the HTTP library's frames under a
marked client method (the Basic auth header, the bearer token) stay hidden as well.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter


def sensitive_get_parameters(*parameters: str) -> Callable:
    """Mark GET parameters of a view as secret (like Django's ``sensitive_post_parameters``)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            request.sensitive_get_parameters = parameters
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _sensitive_get(request: HttpRequest | None) -> tuple[str, ...]:
    names = getattr(request, "sensitive_get_parameters", ())
    if request is None or not names:
        return ()
    return tuple(name for name in names if name in request.GET)


class UnifyExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request: HttpRequest | None) -> bool:
        # Also in DEBUG: a developer's screen, a screenshot or a pasted page is no place for
        # a merchant's keys.
        return True

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        if _sensitive_get(request) and "QUERY_STRING" in meta:
            meta["QUERY_STRING"] = self.cleansed_substitute
        return meta

    def cleanse_special_types(self, request: HttpRequest | None, value: Any) -> Any:
        # The request's own repr names its full path, query string included.
        if isinstance(value, HttpRequest) and _sensitive_get(value):
            return f"<{type(value).__name__}: {value.method} {value.path!r} (query hidden)>"
        return super().cleanse_special_types(request, value)

    def get_get_parameters(self, request: HttpRequest):
        hidden = _sensitive_get(request)
        if not hidden:
            return request.GET
        cleansed = request.GET.copy()
        for name in hidden:
            cleansed[name] = self.cleansed_substitute
        return cleansed


class UnifyExceptionReporter(ExceptionReporter):
    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if self.request is not None and _sensitive_get(self.request):
            data["request_GET_items"] = self.filter.get_get_parameters(self.request).items()
            request = self.request
            data["request_insecure_uri"] = (
                f"{request.scheme}://{request._get_raw_host()}{request.path}"
            )
        return data
