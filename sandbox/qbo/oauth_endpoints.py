"""Intuit's OAuth 2.0 endpoints of the QBO stand-in (discovery, authorize page, tokens,
revoke, user info) and the handle methods that manage clients and tokens."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from sandbox.framework import RequestContext, json_response
from sandbox.qbo.oauth import ACCOUNTING_SCOPE, DEMO_CLIENT_ID, OAuthError
from sandbox.qbo.wire import wire_loads


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class OAuthEndpoints:
    """OAuth part of :class:`~sandbox.qbo.app.QboSandbox`; the tokens live in ``self.oauth``."""

    @property
    def discovery_url(self) -> str:
        """What to pass as intuit-oauth's ``environment``."""
        return f"{self.base_url}/.well-known/openid_configuration"

    @property
    def api_base_url(self) -> str:
        """What python-quickbooks' ``api_url_v3`` must be (ends in ``/v3``)."""
        return f"{self.base_url}/v3"

    def discovery_document(self) -> dict[str, Any]:
        base = self.public_base_url
        return {
            "issuer": f"{base}/op/v1",
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
            "jwks_uri": f"{base}/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": [
                "openid",
                "email",
                "profile",
                "address",
                "phone",
                ACCOUNTING_SCOPE,
                "com.intuit.quickbooks.payment",
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }

    def api_discovery(self, request: Request, ctx: RequestContext) -> Response:
        return json_response(self.discovery_document())

    def api_jwks(self, request: Request, ctx: RequestContext) -> Response:
        return json_response({"keys": []})

    def api_userinfo(self, request: Request, ctx: RequestContext) -> Response:
        access, _ = self.oauth.check_access_token(self._bearer(request))
        assert access is not None
        return json_response(
            {
                "sub": f"sandbox-user-{access.realm_id}",
                "email": "sandbox.user@example.com",
                "emailVerified": True,
                "givenName": "Sandbox",
                "familyName": "User",
            }
        )

    def _authorize_params(self, values: Any) -> tuple[dict[str, str], Response | None]:
        params = {
            k: str(values.get(k, ""))
            for k in ("client_id", "redirect_uri", "scope", "state", "response_type")
        }
        client = self.oauth.clients.get(params["client_id"])
        if client is None:
            return params, self._oauth_page(
                "The app that sent you here is not known (invalid client_id).", 400
            )
        if not params["redirect_uri"] or not client.allows(params["redirect_uri"]):
            return params, self._oauth_page(
                "The redirect_uri query parameter value is invalid. Make sure it is listed in the "
                "Redirect URIs section on your app's keys tab and matches it exactly.",
                400,
            )
        if params["response_type"] != "code":
            return params, self._redirect(
                params, {"error": "unsupported_response_type", "state": params["state"]}
            )
        if not params["scope"].split():
            return params, self._redirect(
                params, {"error": "invalid_scope", "state": params["state"]}
            )
        return params, None

    def _redirect(self, params: dict[str, str], query: dict[str, str]) -> Response:
        return Response(
            status=302, headers={"Location": _with_query(params["redirect_uri"], query)}
        )

    def _approve(self, params: dict[str, str], realm_id: str) -> Response:
        code = self.oauth.issue_code(
            params["client_id"], params["redirect_uri"], realm_id, params["scope"]
        )
        self.event_log.add("authorized", client_id=params["client_id"], realm_id=realm_id)
        return self._redirect(params, {"code": code, "state": params["state"], "realmId": realm_id})

    def api_authorize(self, request: Request, ctx: RequestContext) -> Response:
        values = request.form if request.method == "POST" else request.args
        params, problem = self._authorize_params(values)
        if problem is not None:
            return problem
        if request.method == "POST":
            if request.form.get("decision") != "approve":
                self.event_log.add("authorization_denied", client_id=params["client_id"])
                return self._redirect(params, {"error": "access_denied", "state": params["state"]})
            realm_id = request.form.get("realmId", "")
            if realm_id not in self.companies:
                return self._oauth_page("Choose a company to connect.", 400)
            return self._approve(params, realm_id)
        if self.oauth.auto_approve:
            realm_id = self.oauth.auto_approve_realm or self.default_realm_id
            return self._approve(params, realm_id)
        return self._authorize_page(params)

    def _authorize_page(self, params: dict[str, str]) -> Response:
        esc = html.escape
        hidden = "".join(
            f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in params.items()
        )
        options = "".join(
            f'<option value="{esc(c.realm_id)}">{esc(c.name)}</option>'
            for c in self.companies.values()
        )
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect to QuickBooks</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto;">
<h1>Intuit QuickBooks (sandbox stand-in)</h1>
<p>An app wants to connect to your QuickBooks company and read and write its accounting
data.</p>
<form method="post" action="/connect/oauth2">
{hidden}
<p><label for="realmId">Company</label>
<select id="realmId" name="realmId">{options}</select></p>
<button type="submit" name="decision" value="approve" id="connect">Connect</button>
<button type="submit" name="decision" value="deny" id="cancel">Cancel</button>
</form>
</body></html>"""
        return Response(body, status=200, content_type="text/html; charset=utf-8")

    def _oauth_page(self, message: str, status: int) -> Response:
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title>'
            f"</head><body><h1>Something went wrong</h1><p>{html.escape(message)}</p>"
            "</body></html>"
        )
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    def _client(self, request: Request) -> Any:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            raise OAuthError("invalid_client", 401)
        return self.oauth.authenticate_client(auth.username, auth.password)

    def _oauth_error(self, exc: OAuthError) -> Response:
        response = json_response(exc.body(), exc.status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def api_token(self, request: Request, ctx: RequestContext) -> Response:
        try:
            client = self._client(request)
            grant_type = request.form.get("grant_type", "")
            if grant_type == "authorization_code":
                answer = self.oauth.exchange_code(
                    client, request.form.get("code"), request.form.get("redirect_uri")
                )
            elif grant_type == "refresh_token":
                answer = self.oauth.refresh(client, request.form.get("refresh_token"))
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

    def api_revoke(self, request: Request, ctx: RequestContext) -> Response:
        try:
            client = self._client(request)
            token = None
            if request.is_json or request.get_data().lstrip().startswith(b"{"):
                try:
                    token = (wire_loads(request.get_data()) or {}).get("token")
                except ValueError:
                    raise OAuthError("invalid_request") from None
            else:
                token = request.form.get("token")
            self.oauth.revoke(client, token)
        except OAuthError as exc:
            return self._oauth_error(exc)
        self.event_log.add("token_revoked")
        return Response(b"", status=200)

    # -- handle: OAuth --------------------------------------------------------------------------

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] | list[str] = ()
    ) -> None:
        self.oauth.register_client(client_id, client_secret, tuple(redirect_uris))

    def issue_tokens(
        self, realm_id: str | None = None, client_id: str = DEMO_CLIENT_ID
    ) -> dict[str, Any]:
        """A fresh grant for a realm, skipping the browser: the token endpoint's answer."""
        realm = realm_id or self.default_realm_id
        self.company(realm)
        return self.oauth.issue_tokens(client_id, realm)

    def set_auto_approve(self, enabled: bool = True, realm_id: str | None = None) -> None:
        self.oauth.auto_approve = enabled
        self.oauth.auto_approve_realm = realm_id

    def set_refresh_grace(self, seconds: float) -> None:
        self.oauth.refresh_grace_seconds = float(seconds)

    def set_token_lifetimes(
        self, *, access_seconds: int | None = None, refresh_seconds: int | None = None
    ) -> None:
        if access_seconds is not None:
            self.oauth.access_token_ttl = int(access_seconds)
        if refresh_seconds is not None:
            self.oauth.refresh_token_ttl = int(refresh_seconds)

    def expire_access_tokens(self, realm_id: str | None = None) -> int:
        return self.oauth.expire_access_tokens(realm_id)

    def expire_refresh_tokens(self, realm_id: str | None = None) -> int:
        return self.oauth.expire_refresh_tokens(realm_id)

    def revoke_tokens(self, realm_id: str | None = None) -> int:
        return self.oauth.revoke_all(realm_id)
