"""The QBO stand-in's part of the control API under ``/__sandbox__/qbo/``
(see ``sandbox/qbo/README.md``)."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request

from sandbox.framework import ControlError, FaultKind, control_body, json_response
from sandbox.qbo.company import ENTITIES, ENTITY_BY_PATH, Company
from sandbox.qbo.oauth import DEMO_CLIENT_ID
from sandbox.qbo.wire import QboFault, json_answer, wire_bytes


class QboControlApi:
    """Control API part of :class:`~sandbox.qbo.app.QboSandbox`."""

    def control_rules(self) -> list[Rule]:
        return [
            Rule("/companies", endpoint="control_companies", methods=["GET", "POST"]),
            Rule("/companies/<realm>", endpoint="control_company", methods=["GET"]),
            Rule("/companies/<realm>/stats", endpoint="control_stats", methods=["GET"]),
            Rule("/companies/<realm>/settings", endpoint="control_settings", methods=["PUT"]),
            Rule("/companies/<realm>/documents", endpoint="control_documents", methods=["GET"]),
            Rule(
                "/companies/<realm>/documents/<entity>",
                endpoint="control_documents_of",
                methods=["GET", "POST"],
            ),
            Rule(
                "/companies/<realm>/documents/<entity>/<record_id>",
                endpoint="control_document",
                methods=["GET"],
            ),
            Rule("/oauth", endpoint="control_oauth", methods=["GET"]),
            Rule("/oauth/clients", endpoint="control_oauth_clients", methods=["GET", "POST"]),
            Rule("/oauth/settings", endpoint="control_oauth_settings", methods=["GET", "PUT"]),
            Rule("/oauth/tokens", endpoint="control_oauth_tokens", methods=["POST"]),
            Rule("/oauth/expire", endpoint="control_oauth_expire", methods=["POST"]),
            Rule("/oauth/revoke", endpoint="control_oauth_revoke", methods=["POST"]),
            Rule("/limits", endpoint="control_limits", methods=["GET", "PUT"]),
            Rule(
                "/after-commit-faults",
                endpoint="control_after_commit_faults",
                methods=["GET", "POST", "DELETE"],
            ),
        ]

    def _company_summary(self, company: Company) -> dict[str, Any]:
        with company.lock:
            return {
                "realm_id": company.realm_id,
                "name": company.name,
                "counts": {e: len(company.records[e]) for e in ENTITIES},
                "reject_duplicate_doc_numbers": company.reject_duplicate_doc_numbers,
                "requestids": len(company.replays),
            }

    def control_companies(self, request: Request) -> Any:
        if request.method == "POST":
            body = control_body(request)
            realm = self.create_company(body.get("name"), body.get("realm_id"))
            return json_response(self._company_summary(self.company(realm)), 201)
        return {"companies": [self._company_summary(c) for c in self.companies.values()]}

    def control_company(self, request: Request, realm: str) -> Any:
        return self._company_summary(self.company(realm))

    def control_stats(self, request: Request, realm: str) -> Any:
        self.company(realm)
        return self.stats(realm)

    def control_settings(self, request: Request, realm: str) -> Any:
        body = control_body(request)
        if "reject_duplicate_doc_numbers" in body:
            self.set_duplicate_doc_number_check(bool(body["reject_duplicate_doc_numbers"]), realm)
        if isinstance(body.get("preferences"), dict):
            self.set_preferences(realm, **body["preferences"])
        return self._company_summary(self.company(realm))

    def control_documents(self, request: Request, realm: str) -> Any:
        kind = request.args.get("type")
        if kind:
            return self._control_list(realm, kind)
        return {e: self.documents(e, realm) for e in ENTITIES}

    def _control_list(self, realm: str, entity: str) -> Any:
        if entity.lower() not in ENTITY_BY_PATH:
            raise ControlError(f"unknown entity {entity}", 404)
        docs = self.documents(entity, realm)
        return json_response(
            {"entity": ENTITY_BY_PATH[entity.lower()], "count": len(docs), "documents": docs}
        )

    def control_documents_of(self, request: Request, realm: str, entity: str) -> Any:
        if request.method == "POST":
            if entity.lower() not in ENTITY_BY_PATH:
                raise ControlError(f"unknown entity {entity}", 404)
            try:
                record = self.add_document(entity, control_body(request), realm)
            except QboFault as fault:
                return fault.response()
            return json_answer(wire_bytes(record), 201)
        return self._control_list(realm, entity)

    def control_document(self, request: Request, realm: str, entity: str, record_id: str) -> Any:
        if entity.lower() not in ENTITY_BY_PATH:
            raise ControlError(f"unknown entity {entity}", 404)
        try:
            return json_answer(wire_bytes(self.document(entity, record_id, realm)))
        except QboFault as fault:
            return fault.response()

    def control_oauth(self, request: Request) -> Any:
        return self.oauth.summary()

    def control_oauth_clients(self, request: Request) -> Any:
        if request.method == "POST":
            body = control_body(request)
            if not body.get("client_id") or not body.get("client_secret"):
                raise ControlError("client_id and client_secret are required")
            self.register_client(
                str(body["client_id"]),
                str(body["client_secret"]),
                tuple(body.get("redirect_uris") or ()),
            )
        return {"clients": self.oauth.summary()["clients"]}

    def control_oauth_settings(self, request: Request) -> Any:
        if request.method == "PUT":
            body = control_body(request)
            if "auto_approve" in body:
                self.set_auto_approve(bool(body["auto_approve"]), body.get("auto_approve_realm"))
            if "refresh_grace_seconds" in body:
                self.set_refresh_grace(float(body["refresh_grace_seconds"]))
            self.set_token_lifetimes(
                access_seconds=body.get("access_token_ttl"),
                refresh_seconds=body.get("refresh_token_ttl"),
            )
        return self.oauth.settings()

    def control_oauth_tokens(self, request: Request) -> Any:
        body = control_body(request)
        try:
            return self.issue_tokens(
                body.get("realm_id"), str(body.get("client_id") or DEMO_CLIENT_ID)
            )
        except KeyError as exc:
            raise ControlError(str(exc), 404) from None

    def control_oauth_expire(self, request: Request) -> Any:
        body = control_body(request)
        what = body.get("what", "access")
        realm = body.get("realm_id")
        if what == "access":
            return {"expired": self.expire_access_tokens(realm)}
        if what == "refresh":
            return {"expired": self.expire_refresh_tokens(realm)}
        raise ControlError('what must be "access" or "refresh"')

    def control_oauth_revoke(self, request: Request) -> Any:
        return {"revoked": self.revoke_tokens(control_body(request).get("realm_id"))}

    def control_limits(self, request: Request) -> Any:
        if request.method == "PUT":
            body = control_body(request)
            if "per_minute" in body:
                if body["per_minute"] is None:
                    self.disable_rate_limit()
                else:
                    self.set_rate_limit(
                        int(body["per_minute"]), float(body.get("window_seconds", 60.0))
                    )
            if "concurrent" in body:
                value = body["concurrent"]
                self.set_concurrency_limit(None if value is None else int(value))
            if "batch_per_minute" in body:
                value = body["batch_per_minute"]
                self.set_batch_rate_limit(
                    None if value is None else int(value),
                    float(body.get("batch_window_seconds", 60.0)),
                )
            if "per_second" in body:
                value = body["per_second"]
                self.set_per_second_limit(
                    None if value is None else int(value),
                    float(body.get("second_window_seconds", 1.0)),
                )
            if "latency_seconds" in body:
                self.set_latency(float(body["latency_seconds"]))
        return self.limits()

    def control_after_commit_faults(self, request: Request) -> Any:
        if request.method == "DELETE":
            self.after_commit_faults.clear()
            return {"faults": []}
        if request.method == "POST":
            body = control_body(request)
            try:
                kind = FaultKind.parse(body["kind"])
            except (KeyError, ValueError) as exc:
                raise ControlError("kind must be one of " + ", ".join(FaultKind)) from exc
            rule = self.inject_after_commit_faults(
                kind,
                count=body.get("count"),
                probability=float(body["probability"]) if body.get("probability") else None,
                path_prefix=body.get("path_prefix"),
                delay_seconds=float(body.get("delay_seconds", 5.0)),
                seed=int(body.get("seed", 0)),
            )
            return rule.to_json()
        return {"faults": [r.to_json() for r in self.after_commit_faults.rules()]}

    def control_info(self, request: Request) -> dict[str, Any]:
        info = super().control_info(request)
        info.update(
            {
                "discovery_url": f"{self.public_base_url}/.well-known/openid_configuration",
                "api_base_url": f"{self.public_base_url}/v3",
                "default_realm_id": self.default_realm_id,
                "demo_client_id": DEMO_CLIENT_ID,
                "limits": self.limits(),
            }
        )
        return info
