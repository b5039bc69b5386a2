"""The eight Web Connector methods, as services.

``authenticate`` checks the user name and password (``nvu`` when wrong), turns the
organization's pending postings of this connection into queued documents, and opens a
session bound to that one ledger connection (``none`` when nothing is queued; ``busy`` while
another run of the same connection is still active). Its ticket is random, stored as a
SHA-256, expires when idle, and stops working when the password is regenerated or the
connection disconnected. Every later call finds its session by ticket alone and works only
on that session's connection, inside that organization's scope.

Each call runs in one transaction that commits before the SOAP answer leaves: a document is
marked "sent" in the database before QuickBooks can see its request.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounting.ledgers.qbd import qbxml
from accounting.ledgers.qbd.answers import Recorder
from accounting.ledgers.qbd.models import (
    SessionState,
    WebConnectorExchange,
    WebConnectorSession,
    WebConnectorUser,
)
from accounting.ledgers.qbd.passwords import DUMMY_HASH, hash_password, is_current, password_matches
from accounting.ledgers.qbd.planner import Work, next_message, open_postings
from accounting.ledgers.qbd.xmlsafe import XmlRejected, local, parse
from accounting.models import LedgerStatus, Posting, PostingState
from accounting.services import posting_record_result
from unify.core.stored_text import gettext as _
from unify.tenancy.rls import rls_bypass
from unify.tenancy.scoping import org_scope

logger = logging.getLogger("unify.qbd")

SERVER_VERSION = "Unify QuickBooks Desktop service 1.0"
LOG_LIMIT = 256 * 1024
# "NoOp" answers in a row while documents are still being built (each one waits 5 s).
MAX_NOOPS = 12


def ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def _max_bytes() -> int:
    return int(settings.QBD_SOAP_MAX_BYTES)


# ---------------------------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------------------------


def server_version() -> str:
    return SERVER_VERSION


def client_version(version: str) -> str:
    """ "" lets any Web Connector 2.x go on; older ones get a warning, as Intuit's guide
    describes ("W:" warns, "E:" stops)."""
    match = re.match(r"\s*(\d+)", version or "")
    if match and int(match.group(1)) < 2:
        return "W:" + _("Please update the QuickBooks Web Connector to version 2.3 or newer.")
    return ""


# ---------------------------------------------------------------------------------------------
# authenticate
# ---------------------------------------------------------------------------------------------


def _failures_key(username: str) -> str:
    return "qbd:auth-failures:" + hashlib.sha256(username.encode()).hexdigest()[:32]


def _throttled(username: str) -> bool:
    return int(cache.get(_failures_key(username)) or 0) >= int(settings.QBD_AUTH_MAX_FAILURES)


def _count_failure(username: str) -> None:
    key = _failures_key(username)
    if not cache.add(key, 1, timeout=int(settings.QBD_AUTH_FAILURE_WINDOW_SECONDS)):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=int(settings.QBD_AUTH_FAILURE_WINDOW_SECONDS))


def _queue_pending(connection_id: int, organization_id: int) -> None:
    """Build the documents of postings still waiting (the engine's execute step queues
    them for this ledger). Local work only: nothing is sent anywhere."""
    from accounting.services import has_due_postings, posting_drain

    with org_scope(organization_id):
        if has_due_postings(connection_id):
            posting_drain(
                ledger_connection_id=connection_id,
                time_budget_seconds=float(settings.QBD_QUEUE_BUDGET_SECONDS),
            )


def authenticate(username: str, password: str) -> list[str]:
    username = (username or "")[:64]
    throwaway = secrets.token_urlsafe(24)
    if not username or _throttled(username):
        return [throwaway, "nvu"]
    with rls_bypass("qbd-ticket"):  # the user name names the organization
        user = (
            WebConnectorUser.all_orgs.select_related("ledger_connection")
            .filter(username=username)
            .first()
        )
    valid = password_matches(password or "", user.password_hash if user else DUMMY_HASH)
    if user is None or not valid or user.ledger_connection.status != LedgerStatus.ACTIVE:
        _count_failure(username)
        logger.info("qbd authenticate refused for a user name (%s)", "known" if user else "unknown")
        return [throwaway, "nvu"]
    connection = user.ledger_connection
    now = timezone.now()
    with org_scope(user.organization_id):
        seen = {"last_contact_at": now, "updated_at": now}
        if not is_current(user.password_hash):
            seen["password_hash"] = hash_password(password)  # an older, slower hash
        WebConnectorUser.objects.filter(pk=user.pk).update(**seen)
        busy_after = now - timedelta(seconds=float(settings.QBD_BUSY_SECONDS))
        with transaction.atomic():
            others = WebConnectorSession.objects.select_for_update().filter(
                web_connector=user, state=SessionState.OPEN
            )
            for other in others:
                if other.last_activity_at > busy_after and other.expires_at > now:
                    return [throwaway, "busy"]
                other.state = SessionState.ABANDONED
                other.closed_at = now
                other.save(update_fields=["state", "closed_at", "updated_at"])
    _queue_pending(connection.pk, user.organization_id)
    with org_scope(user.organization_id):
        queued = Posting.objects.filter(
            ledger_connection=connection, status=PostingState.QUEUED
        ).count()
        if not queued and not user.catalog_requested:
            return [throwaway, "none"]
        ticket = secrets.token_urlsafe(32)
        session = WebConnectorSession.objects.create(
            organization_id=user.organization_id,
            web_connector=user,
            ticket_hash=ticket_hash(ticket),
            expires_at=now + timedelta(seconds=float(settings.QBD_SESSION_IDLE_SECONDS)),
            last_activity_at=now,
            total=queued,
            pending={},
        )
        _log(session, "authenticate", result=f"session for {username}: {queued} queued")
    # "" = use the company file that is open in QuickBooks (QBWC checks it is the one the
    # .qwc file was added with, by its FileID).
    return [ticket, ""]


# ---------------------------------------------------------------------------------------------
# Tickets
# ---------------------------------------------------------------------------------------------


def _session_for(ticket: str, *, lock: bool = True) -> WebConnectorSession | None:
    if not ticket or len(ticket) > 200:
        return None
    # In the scope of the ticket's organization (``_session_org``): the caller's org_scope.
    qs = WebConnectorSession.objects.select_related(
        "web_connector", "web_connector__ledger_connection"
    )
    if lock:
        qs = qs.select_for_update(of=("self",))
    session = qs.filter(ticket_hash=ticket_hash(ticket)).first()
    now = timezone.now()
    if session is None or session.state != SessionState.OPEN:
        return None
    if session.expires_at <= now:
        session.state = SessionState.ABANDONED
        session.closed_at = now
        session.save(update_fields=["state", "closed_at", "updated_at"])
        return None
    user = session.web_connector
    if user.ledger_connection.status != LedgerStatus.ACTIVE or (
        user.password_set_at and user.password_set_at > session.created_at
    ):
        return None
    return session


def _touch(session: WebConnectorSession) -> None:
    now = timezone.now()
    session.last_activity_at = now
    session.expires_at = now + timedelta(seconds=float(settings.QBD_SESSION_IDLE_SECONDS))
    session.exchanges += 1


def _log(session: WebConnectorSession, method: str, **fields) -> None:
    for name in ("request_xml", "response_xml"):
        if fields.get(name):
            fields[name] = fields[name][:LOG_LIMIT]
    WebConnectorExchange.objects.create(
        organization_id=session.organization_id, session=session, method=method, **fields
    )


def _work(session: WebConnectorSession) -> Work:
    user = session.web_connector
    return Work(session=session, user=user, connection=user.ledger_connection)


def _fail_callback(session: WebConnectorSession):
    def fail(posting: Posting, message: str, detail: str) -> None:
        if posting_record_result(posting=posting, error=message, detail=detail):
            session.failed += 1

    return fail


def _record_error(session: WebConnectorSession, message: str) -> None:
    now = timezone.now()
    session.last_error = message[:4000]
    WebConnectorUser.objects.filter(pk=session.web_connector_id).update(
        last_error=message[:4000], last_error_at=now, updated_at=now
    )


# ---------------------------------------------------------------------------------------------
# sendRequestXML / receiveResponseXML
# ---------------------------------------------------------------------------------------------


def _company_from_hcp(hcp: str) -> str:
    try:
        root = parse(hcp, max_bytes=_max_bytes())
    except XmlRejected:
        return ""
    for node in root.iter():
        if local(node.tag) == "CompanyRet":
            return qbxml.text(node, "CompanyName")
    return ""


def _version(major: str, minor: str) -> str:
    try:
        major_n = int(major)
    except (TypeError, ValueError):
        return qbxml.QBXML_VERSION
    return qbxml.QBXML_VERSION if major_n >= 13 else f"{major_n}.0"


def _session_org(ticket: str) -> int | None:
    with rls_bypass("qbd-ticket"):  # the ticket names the organization
        return (
            WebConnectorSession.all_orgs.filter(ticket_hash=ticket_hash(ticket or ""))
            .values_list("organization_id", flat=True)
            .first()
        )


def _session_org_and_connection(ticket: str) -> tuple[int, int] | None:
    with rls_bypass("qbd-ticket"):  # the ticket names the organization
        return (
            WebConnectorSession.all_orgs.filter(
                ticket_hash=ticket_hash(ticket or ""), state=SessionState.OPEN
            )
            .values_list("organization_id", "web_connector__ledger_connection_id")
            .first()
        )


def send_request_xml(
    ticket: str, hcp: str, company_file: str, country: str, major: str, minor: str
) -> str:
    found = _session_org_and_connection(ticket)
    if found is None:
        return ""
    org_id, connection_id = found
    with org_scope(org_id):
        # Postings that arrived since authenticate are built outside the call's transaction
        # (one query when there are none; the session itself is checked below).
        _queue_pending(connection_id, org_id)
        started = time.perf_counter()
        with transaction.atomic():
            session = _session_for(ticket)
            if session is None:
                return ""
            _touch(session)
            work = _work(session)
            state = session.pending
            if "version" not in state:
                state["version"] = _version(major, minor)
                user = work.user
                user.company_file = (company_file or "")[:500]
                user.qbxml_version = state["version"]
                company = _company_from_hcp(hcp) if hcp else ""
                user.save(update_fields=["company_file", "qbxml_version", "updated_at"])
                if company and not work.connection.company_name:
                    work.connection.company_name = company[:300]
                    work.connection.save(update_fields=["company_name", "updated_at"])
            if session.exchanges > int(settings.QBD_MAX_EXCHANGES_PER_SESSION):
                message = None
            else:
                message = next_message(work, _fail_callback(session))
            if message is None:
                state.pop("request", None)
                if _building(work) and state.get("noops", 0) < MAX_NOOPS:
                    # A worker is still building documents: the Web Connector waits a few
                    # seconds and asks again (getLastError answers "NoOp").
                    state["noop"] = True
                    state["noops"] = state.get("noops", 0) + 1
                elif not session.last_error:
                    session.last_error = _("Unify had nothing more to send.")
            session.save()
            _log(
                session,
                "sendRequestXML",
                request_xml=message or "",
                duration_ms=(time.perf_counter() - started) * 1000,
            )
            return message or ""


def _building(work: Work) -> bool:
    return Posting.objects.filter(
        ledger_connection=work.connection,
        status=PostingState.IN_FLIGHT,
        lease_until__gt=timezone.now(),
    ).exists()


def _percent(work: Work) -> int:
    if (
        (work.user.catalog_requested and not work.state.get("catalog"))
        or open_postings(work).exists()
        or (_building(work) and work.state.get("noops", 0) < MAX_NOOPS)
    ):
        done = work.session.posted + work.session.failed
        return max(0, min(99, int(100 * done / max(1, work.session.total))))
    return 100


def receive_response_xml(ticket: str, response: str, hresult: str, message: str) -> int:
    org_id = _session_org(ticket)
    if org_id is None:
        return -1
    with org_scope(org_id), transaction.atomic():
        session = _session_for(ticket)
        if session is None:
            return -1
        started = time.perf_counter()
        _touch(session)
        work = _work(session)
        request = work.state.pop("request", None)
        if hresult:
            # QuickBooks failed the whole message: what it carried stays "sent" and is looked
            # up at the next run before anything is added again.
            _record_error(
                session,
                _("QuickBooks Desktop could not process Unify's request: %(message)s (%(code)s)")
                % {"message": message or _("no message"), "code": hresult},
            )
            session.save()
            _log(
                session,
                "receiveResponseXML",
                response_xml=response or "",
                hresult=hresult[:40],
                message=message or "",
                result="-1",
            )
            return -1
        try:
            answers = qbxml.read_response(response or "", max_bytes=_max_bytes())
        except XmlRejected as exc:
            _record_error(
                session,
                _("Unify could not read QuickBooks Desktop's answer (%(reason)s).")
                % {"reason": exc},
            )
            session.save()
            _log(session, "receiveResponseXML", response_xml=(response or "")[:4096], result="-1")
            return -1
        by_rid = {a.request_id: a for a in answers}
        recorder = Recorder(work, _fail_callback(session))
        kind = (request or {}).get("type")
        if kind == "catalog":
            recorder.catalog(answers)
        elif kind == "lookup":
            recorder.lookup(request["map"], by_rid)
        elif kind == "names_query":
            recorder.names_query(request["map"], by_rid)
        elif kind == "names_add":
            recorder.names_add(request["map"], by_rid)
        elif kind == "txn":
            recorder.transactions(request["map"], by_rid)
        recorder.flush()
        session.posted += recorder.posted
        percent = _percent(work)
        session.save()
        _log(
            session,
            "receiveResponseXML",
            response_xml=response,
            result=str(percent),
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        return percent


# ---------------------------------------------------------------------------------------------
# Errors and the end of a run
# ---------------------------------------------------------------------------------------------


def connection_error(ticket: str, hresult: str, message: str) -> str:
    org_id = _session_org(ticket)
    if org_id is None:
        return "done"
    with org_scope(org_id), transaction.atomic():
        session = _session_for(ticket)
        if session is None:
            return "done"
        _record_error(
            session,
            _("The Web Connector could not reach QuickBooks Desktop: %(message)s (%(code)s)")
            % {"message": message or _("no message"), "code": hresult or "?"},
        )
        session.state = SessionState.FAILED
        session.closed_at = timezone.now()
        session.save()
        _log(
            session,
            "connectionError",
            hresult=(hresult or "")[:40],
            message=message or "",
            result="done",
        )
    return "done"


def get_last_error(ticket: str) -> str:
    org_id = _session_org(ticket)
    if org_id is None:
        return _("This Web Connector session has ended or is not valid. Run the update again.")
    with org_scope(org_id), transaction.atomic():
        session = _session_for(ticket)
        if session is None:
            return _("This Web Connector session has ended or is not valid. Run the update again.")
        if session.pending.pop("noop", False):
            session.save(update_fields=["pending", "updated_at"])
            return "NoOp"
        text = session.last_error or _("Unify has no further details.")
        _log(session, "getLastError", result=text[:200])
        return text


def close_connection(ticket: str) -> str:
    org_id = _session_org(ticket)
    if org_id is None:
        return _("Nothing to do.")
    with org_scope(org_id), transaction.atomic():
        session = _session_for(ticket)
        if session is None:
            return _("Nothing to do.")
        session.state = SessionState.DONE
        session.closed_at = timezone.now()
        session.save()
        text = _("Unify: %(posted)s document(s) posted, %(failed)s refused.") % {
            "posted": session.posted,
            "failed": session.failed,
        }
        _log(session, "closeConnection", result=text)
        return text
