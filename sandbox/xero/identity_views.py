"""The Xero stand-in's identity endpoints (mixed into :class:`~sandbox.xero.app.XeroSandbox`):
the consent page, ``/connect/token``, ``/connect/revocation`` and ``/connections``. The rules
of codes, grants and connections are in :mod:`sandbox.xero.identity`."""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from sandbox.framework import RequestContext, json_response
from sandbox.xero import seed, wire
from sandbox.xero.identity import OAuthError

if TYPE_CHECKING:
    from sandbox.xero.app import XeroSandbox


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _arg(request: Request, name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in request.args.items() if k.lower() == wanted), "")


class IdentityViews:
    def _authorize_params(self: XeroSandbox, values: Any) -> tuple[dict[str, str], Response | None]:
        params = {
            k: str(values.get(k, ""))
            for k in ("client_id", "redirect_uri", "scope", "state", "response_type")
        }
        client = self.identity.clients.get(params["client_id"])
        if client is None:
            return params, self._page("Error", "unauthorized_client: Invalid client_id", 400)
        if not params["redirect_uri"] or not client.allows(params["redirect_uri"]):
            return params, self._page("Error", "Invalid redirect_uri", 400)
        if params["response_type"] != "code":
            return params, self._redirect(
                params, {"error": "unsupported_response_type", "state": params["state"]}
            )
        if not params["scope"].split():
            return params, self._redirect(
                params, {"error": "invalid_scope", "state": params["state"]}
            )
        return params, None

    def _redirect(self: XeroSandbox, params: dict[str, str], query: dict[str, str]) -> Response:
        return Response(
            status=302, headers={"Location": _with_query(params["redirect_uri"], query)}
        )

    def _approve(
        self: XeroSandbox, params: dict[str, str], tenant_ids: tuple[str, ...], user: str
    ) -> Response:
        code = self.identity.issue_code(
            params["client_id"], params["redirect_uri"], params["scope"], tenant_ids, user
        )
        self.event_log.add("authorized", client_id=params["client_id"], tenants=list(tenant_ids))
        return self._redirect(
            params,
            {
                "code": code,
                "scope": params["scope"],
                "state": params["state"],
                "session_state": wire.ms_datetime()[6:19],
            },
        )

    def api_authorize(self: XeroSandbox, request: Request, ctx: RequestContext) -> Response:
        values = request.form if request.method == "POST" else request.args
        params, problem = self._authorize_params(values)
        if problem is not None:
            return problem
        if request.method == "POST":
            if request.form.get("decision") != "allow":
                self.event_log.add("authorization_denied", client_id=params["client_id"])
                return self._redirect(params, {"error": "access_denied", "state": params["state"]})
            tenants = tuple(t for t in request.form.getlist("tenant") if t in self.organisations)
            if not tenants:
                return self._authorize_page(params, "Choose at least one organisation.")
            user = request.form.get("user", "").strip() or self.identity.auto_approve_user
            return self._approve(params, tenants, user)
        if self.identity.auto_approve:
            tenants = self.identity.auto_approve_tenants or (seed.DEFAULT_TENANT_ID,)
            return self._approve(params, tenants, self.identity.auto_approve_user)
        return self._authorize_page(params)

    def _authorize_page(self: XeroSandbox, params: dict[str, str], error: str = "") -> Response:
        esc = html.escape
        hidden = "".join(
            f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in params.items()
        )
        boxes = "".join(
            f'<p><label><input type="checkbox" name="tenant" value="{esc(org.tenant_id)}"'
            f' id="tenant-{esc(org.tenant_id)}"> {esc(org.name)}</label></p>'
            for org in self.organisations.values()
        )
        scopes = "".join(f"<li>{esc(s)}</li>" for s in params["scope"].split())
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Xero | Authorise app</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 34rem; margin: 3rem auto;">
<h1>Xero (sandbox stand-in)</h1>
<p>An app wants to access your Xero organisations:</p><ul>{scopes}</ul>
{f'<p role="alert" style="color: #b00">{esc(error)}</p>' if error else ""}
<form method="post" action="/identity/connect/authorize">
{hidden}
<p><label for="user">Signed in as</label>
<input id="user" name="user" value="{esc(self.identity.auto_approve_user)}"></p>
<fieldset><legend>Organisations</legend>{boxes}</fieldset>
<button type="submit" name="decision" value="allow" id="allow">Allow access</button>
<button type="submit" name="decision" value="deny" id="cancel">Cancel</button>
</form></body></html>"""
        return Response(body, status=400 if error else 200, content_type="text/html; charset=utf-8")

    def _page(self: XeroSandbox, title: str, message: str, status: int) -> Response:
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
            "</body></html>"
        )
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    def _client(self: XeroSandbox, request: Request) -> Any:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            return self.identity.authenticate_client(auth.username, auth.password)
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                raise OAuthError("invalid_client") from None
            return self.identity.authenticate_client(user, secret)
        return self.identity.authenticate_client(
            request.form.get("client_id"), request.form.get("client_secret")
        )

    def _oauth_error(self: XeroSandbox, exc: OAuthError) -> Response:
        response = json_response(exc.body(), exc.status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def api_token(self: XeroSandbox, request: Request, ctx: RequestContext) -> Response:
        try:
            client = self._client(request)
            grant_type = request.form.get("grant_type", "")
            if grant_type == "authorization_code":
                names = {t: o.name for t, o in self.organisations.items()}
                answer = self.identity.exchange_code(
                    client, request.form.get("code"), request.form.get("redirect_uri"), names
                )
            elif grant_type == "refresh_token":
                answer = self.identity.refresh(client, request.form.get("refresh_token"))
            elif not grant_type:
                raise OAuthError("invalid_request", description="grant_type is required")
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            self.event_log.add("token_refused", error=exc.error)
            return self._oauth_error(exc)
        self.event_log.add("token_issued", grant_type=grant_type)
        response = json_response(answer)
        response.headers["Cache-Control"] = "no-store"
        return response

    def api_revoke(self: XeroSandbox, request: Request, ctx: RequestContext) -> Response:
        try:
            client = self._client(request)
            self.identity.revoke(client, request.form.get("token"))
        except OAuthError as exc:
            return self._oauth_error(exc)
        self.event_log.add("token_revoked")
        return Response(b"", status=200)

    def api_connections(self: XeroSandbox, request: Request, ctx: RequestContext) -> Response:
        grant, _ = self.identity.check_access_token(self._bearer(request))
        assert grant is not None
        rows = [c.to_json() for c in self.identity.connections_of(grant)]
        if _arg(request, "authEventId"):
            rows = [r for r in rows if r["authEventId"] == _arg(request, "authEventId")]
        return wire.json_answer(wire.dumps(rows))

    def api_connection(
        self: XeroSandbox, request: Request, ctx: RequestContext, connection_id: str
    ) -> Response:
        grant, _ = self.identity.check_access_token(self._bearer(request))
        assert grant is not None
        if not self.identity.delete_connection(grant, connection_id):
            return wire.not_found()
        self.event_log.add("connection_deleted", connection_id=connection_id)
        return Response(b"", status=204)
