"""The Accounting API v3 of the QBO stand-in: reads, writes with ``requestid`` replays,
queries, batches and the "open in QuickBooks" page."""

from __future__ import annotations

import copy
import html
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.framework import FaultKind, FaultRule, RequestContext
from sandbox.qbo.company import ENTITIES, ENTITY_BY_PATH, NAME_LISTS, Company, Replay
from sandbox.qbo.query import parse_query, run_query
from sandbox.qbo.wire import (
    QboFault,
    bad_request_body,
    forbidden_response,
    intuit_time,
    json_answer,
    object_not_found,
    query_validation_error,
    system_fault,
    throttled_response,
    unsupported_operation,
    wire_bytes,
    wire_loads,
)

MAX_BATCH_ITEMS = 30
MAX_REQUEST_ID = 50

_SINGLETONS = {"companyinfo": "CompanyInfo", "preferences": "Preferences"}


def _corrupt(rule: FaultRule | None, body: bytes) -> bytes:
    if rule is None:
        return body
    if rule.kind is FaultKind.TRUNCATED_JSON:
        return body[: max(1, len(body) // 2)]
    if rule.kind is FaultKind.MALFORMED_JSON:
        return body[:-1] + b",undefined" + body[-1:] if len(body) > 1 else b"{,}"
    return body


class AccountingApi:
    """Accounting API part of :class:`~sandbox.qbo.app.QboSandbox`."""

    def _company_call(self, realm: str, handle: Callable[[Company], Response]) -> Response:
        company = self.companies.get(realm)
        if company is None:
            return forbidden_response()
        if not self.second_limiter.check(realm, time.monotonic()).allowed:
            self.event_log.add("second_throttled", realm_id=realm)
            return throttled_response()
        with self._flight_lock:
            in_flight = self._in_flight.get(realm, 0) + 1
            if self.concurrency_limit is not None and in_flight > self.concurrency_limit:
                self.event_log.add("concurrency_throttled", realm_id=realm, in_flight=in_flight)
                return throttled_response()
            self._in_flight[realm] = in_flight
            self._max_in_flight[realm] = max(self._max_in_flight.get(realm, 0), in_flight)
        try:
            if self.latency_seconds > 0:
                time.sleep(self.latency_seconds)
            return handle(company)
        finally:
            with self._flight_lock:
                self._in_flight[realm] -= 1

    def _answer_value(
        self, ctx: RequestContext, value: dict[str, Any], status: int = 200
    ) -> Response:
        return json_answer(_corrupt(ctx.fault, wire_bytes(value)), status)

    def _read_json(self, request: Request) -> Any:
        raw = request.get_data()
        if not raw.strip():
            raise bad_request_body("(empty request body)")
        try:
            return wire_loads(raw)
        except ValueError as exc:
            raise bad_request_body(f"Unrecognized token ({exc})") from None

    def api_read(
        self, request: Request, ctx: RequestContext, realm: str, entity: str, record_id: str
    ) -> Response:
        def handle(company: Company) -> Response:
            key = entity.lower()
            try:
                if key == "companyinfo":
                    if record_id not in (realm, company.company_info["Id"]):
                        raise object_not_found("CompanyInfo", record_id)
                    return self._answer_value(
                        ctx, {"CompanyInfo": company.company_info, "time": intuit_time()}
                    )
                name = ENTITY_BY_PATH.get(key)
                if name is None:
                    raise unsupported_operation(entity, "Read")
                with company.lock:
                    record = company.records[name].get(record_id) or company.records[name].get(
                        record_id.upper()
                    )
                    if record is None:
                        record = company.get(name, record_id)
                    return self._answer_value(ctx, {name: record, "time": intuit_time()})
            except QboFault as fault:
                return fault.response()

        return self._company_call(realm, handle)

    def api_preferences(self, request: Request, ctx: RequestContext, realm: str) -> Response:
        def handle(company: Company) -> Response:
            try:
                if request.method == "POST":
                    body = self._read_json(request)
                    if not isinstance(body, dict):
                        raise bad_request_body("Preferences")
                    with company.lock:
                        self._update_preferences(company, body, check_token=True)
                return self._answer_value(
                    ctx, {"Preferences": company.preferences, "time": intuit_time()}
                )
            except QboFault as fault:
                return fault.response()

        return self._company_call(realm, handle)

    def _update_preferences(
        self, company: Company, body: dict[str, Any], *, check_token: bool
    ) -> None:
        from sandbox.qbo.wire import meta_time, required_param, stale_object

        prefs = company.preferences
        if check_token:
            sent = str(body.get("SyncToken", "")).strip()
            if not sent:
                raise required_param("SyncToken")
            if sent != prefs["SyncToken"]:
                raise stale_object("Preferences", "1", sent, prefs["SyncToken"])
        for group, values in body.items():
            if group in ("Id", "SyncToken", "MetaData", "domain", "sparse") or values is None:
                continue
            if isinstance(values, dict) and isinstance(prefs.get(group), dict):
                prefs[group].update({k: v for k, v in values.items() if v is not None})
            else:
                prefs[group] = values
        prefs["SyncToken"] = str(int(prefs["SyncToken"]) + 1)
        prefs["MetaData"] = {**prefs["MetaData"], "LastUpdatedTime": meta_time()}

    def api_write(self, request: Request, ctx: RequestContext, realm: str, entity: str) -> Response:
        name = ENTITY_BY_PATH.get(entity.lower())
        if name is None:
            return unsupported_operation(entity, "Create").response()
        return self._company_call(realm, lambda company: self._write(request, ctx, company, name))

    def _replayed(self, request: Request, company: Company) -> tuple[str | None, Response | None]:
        request_id = request.args.get("requestid")
        if not request_id:
            return None, None
        if len(request_id) > MAX_REQUEST_ID:
            return request_id, QboFault(
                2050,
                "String length is either shorter or longer than supported by specification",
                f"requestid can be at most {MAX_REQUEST_ID} characters; supplied {len(request_id)}",
                "requestid",
            ).response()
        replay = company.replays.get(request_id)
        if replay is None:
            return request_id, None
        if replay.path.lower() != request.path.lower():
            return request_id, QboFault(
                600,
                "Duplicate Request ID",
                f"The requestid {request_id} was already used for another request.",
                "",
            ).response()
        self.event_log.add(
            "requestid_replayed",
            realm_id=company.realm_id,
            request_id=request_id,
            path=request.path,
        )
        return request_id, json_answer(replay.body, replay.status)

    def _write(
        self, request: Request, ctx: RequestContext, company: Company, entity: str
    ) -> Response:
        with company.lock:
            request_id, replay = self._replayed(request, company)
            if replay is not None:
                return self._deliver(request, ctx, replay.get_data(), replay.status_code)
            operation = request.args.get("operation", "").lower()
            include = request.args.get("include", "").lower()
            try:
                body = self._read_json(request)
                if operation == "delete":
                    result: dict[str, Any] = {entity: company.delete(entity, body)}
                elif operation == "void" or include == "void":
                    result = {entity: company.void(entity, body)}
                elif operation in ("", "create", "update"):
                    result = {entity: company.save(entity, body)}
                else:
                    raise unsupported_operation(entity, operation)
            except QboFault as fault:
                self.event_log.add(
                    "fault", realm_id=company.realm_id, entity=entity, code=fault.code
                )
                return fault.response()
            result["time"] = intuit_time()
            payload = wire_bytes(result)
            if request_id:
                company.replays[request_id] = Replay(request.method, request.path, 200, payload)
        return self._deliver(request, ctx, payload, 200)

    def _deliver(
        self, request: Request, ctx: RequestContext, payload: bytes, status: int
    ) -> Response:
        """The answer of a committed write, unless a fault "loses" it on the way back."""
        rule = self.after_commit_faults.pick(request.path)
        if rule is not None:
            self.event_log.add("after_commit_fault", path=request.path, fault=str(rule.kind))
            if rule.kind is FaultKind.SERVER_ERROR:
                return system_fault().response()
            if rule.kind in (FaultKind.BAD_GATEWAY, FaultKind.SERVICE_UNAVAILABLE):
                return self.fault_gateway_page(502 if rule.kind is FaultKind.BAD_GATEWAY else 503)
            if rule.kind is FaultKind.SLOW:
                time.sleep(rule.delay_seconds)
            payload = _corrupt(rule, payload)
        return json_answer(_corrupt(ctx.fault, payload), status)

    def _query_response(self, company: Company, text: str) -> dict[str, Any]:
        query = parse_query(text)
        singleton = _SINGLETONS.get(query.entity.lower())
        if singleton is not None:
            record = company.company_info if singleton == "CompanyInfo" else company.preferences
            result = run_query(query, [record], name_list=False, known_field=lambda _: True)
            if "items" in result:
                result[singleton] = result.pop("items")
            return result
        entity = ENTITY_BY_PATH.get(query.entity.lower())
        if entity is None:
            raise query_validation_error(f"Entity {query.entity} is not supported")
        with company.lock:
            indexed = company.candidates(entity, query.conditions)
            records = company.all(entity) if indexed is None else indexed
            result = run_query(
                query,
                records,
                name_list=entity in NAME_LISTS,
                known_field=lambda f: company.queryable(entity, f),
            )
            if "items" in result:
                result = {entity: result.pop("items"), **result}
            return copy.deepcopy(result)

    def api_query(self, request: Request, ctx: RequestContext, realm: str) -> Response:
        def handle(company: Company) -> Response:
            text = request.args.get("query")
            if text is None:
                raw = request.get_data()
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("latin-1")
            try:
                result = self._query_response(company, text)
            except QboFault as fault:
                return fault.response()
            return self._answer_value(ctx, {"QueryResponse": result, "time": intuit_time()})

        return self._company_call(realm, handle)

    def api_batch(self, request: Request, ctx: RequestContext, realm: str) -> Response:
        def handle(company: Company) -> Response:
            # Counted once the per-second and concurrency limits let the request in.
            if not self.batch_limiter.check(realm, time.monotonic()).allowed:
                self.event_log.add("batch_throttled", realm_id=realm)
                return throttled_response()
            return self._batch(request, ctx, company)

        return self._company_call(realm, handle)

    def _batch(self, request: Request, ctx: RequestContext, company: Company) -> Response:
        with company.lock:
            request_id, replay = self._replayed(request, company)
            if replay is not None:
                return self._deliver(request, ctx, replay.get_data(), replay.status_code)
            try:
                body = self._read_json(request)
                items = body.get("BatchItemRequest") if isinstance(body, dict) else None
                if not isinstance(items, list) or not items:
                    raise bad_request_body("BatchItemRequest")
                if len(items) > MAX_BATCH_ITEMS:
                    raise QboFault(
                        1040,
                        "Batch size exceeds allowed limit",
                        f"Batch size {len(items)} exceeds the limit of {MAX_BATCH_ITEMS} "
                        "BatchItemRequest items.",
                        "BatchItemRequest",
                    )
            except QboFault as fault:
                return fault.response()
            # Serially, and no item sees what an earlier one of this payload created.
            try:
                out = [self._batch_item(company, item) for item in items]
            finally:
                company.unseen.clear()
            payload = wire_bytes({"BatchItemResponse": out, "time": intuit_time()})
            if request_id:
                company.replays[request_id] = Replay(request.method, request.path, 200, payload)
        return self._deliver(request, ctx, payload, 200)

    def _batch_item(self, company: Company, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            return {"Fault": bad_request_body("BatchItemRequest").fault()}
        b_id = str(item.get("bId", ""))
        try:
            if "Query" in item:
                return {"bId": b_id, "QueryResponse": self._query_response(company, item["Query"])}
            entity = next((e for e in ENTITIES if e in item), None)
            if entity is None:
                raise bad_request_body("BatchItemRequest entity")
            operation = str(item.get("operation", "")).lower()
            if operation == "delete":
                result = company.delete(entity, item[entity])
            elif operation in ("create", "update"):
                result = company.save(entity, item[entity])
                company.unseen.add((entity, str(result.get("Id", ""))))
            else:
                raise unsupported_operation(entity, operation or "(none)")
            return {"bId": b_id, entity: copy.deepcopy(result)}
        except QboFault as fault:
            return {"bId": b_id, "Fault": fault.fault()}

    def api_deep_link(self, request: Request, ctx: RequestContext, entity: str) -> Response:
        """``/app/salesreceipt?txnId=..``: what "open in QuickBooks" shows (any realm)."""
        name = ENTITY_BY_PATH.get(entity.lower())
        txn_id = request.args.get("txnId") or request.args.get("nameId") or ""
        realm = request.args.get("realmId")
        found = None
        for company in self.companies.values():
            if realm and company.realm_id != realm:
                continue
            if name and txn_id in company.records[name]:
                found = (company, company.records[name][txn_id])
                break
        if found is None:
            return self._oauth_page("That transaction was not found.", 404)
        company, record = found
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(str(line.get('Description', line.get('DetailType', ''))))}</td>"
            f"<td>{esc(str(line.get('Amount', '')))}</td></tr>"
            for line in record.get("Line", [])
        )
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(str(name))} {esc(txn_id)}</title></head><body>"
            f"<h1>{esc(company.name)}: {esc(str(name))} {esc(str(record.get('DocNumber', '')))}"
            f'</h1><p>Total: <span id="total">{esc(str(record.get("TotalAmt", "")))}</span></p>'
            f"<table>{rows}</table></body></html>"
        )
        return Response(body, status=200, content_type="text/html; charset=utf-8")
