"""Issue 23: messages a worker or a service stores (a connection's status, a sync run's error,
an unreadable record, a posting's held reason and its log, a ledger's status, an order file's
rejected rows, a notification) are shown in the reader's language, not in the language the
worker happened to run in. Each one is produced by a real run here (the ShipStation and
QuickBooks stand-ins over HTTP, PostgreSQL), then read by a German and by an English person;
provider text (QuickBooks' closing date) stays as the provider wrote it."""

from __future__ import annotations

import pickle

import pytest
from django.db import connection as db_connection
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from accounting.models import LedgerConnection, LedgerStatus, PostingState
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_drain
from connections.models import ConnectionMode, ConnectionStatus, OrderFileUpload, StoreConnection
from sales.models import ImportIssue, SyncRun, SyncStatus
from sales.services import sync_request, sync_run_execute
from tests.accounting.conftest import qbo_ledger, qbo_settings  # noqa: F401 (fixtures)
from tests.accounting.factories import make_order
from tests.accounting.test_closed_books import post_in_closed_books
from tests.connections.test_order_file import csv_bytes, post_file, row
from tests.factories import StoreConnectionFactory
from tests.sales.conftest import ss_app  # noqa: F401 (fixture)
from tests.sales.support import SS_KEY, SS_SECRET, make_connection, run_sync
from unify.core.i18n import set_user_language
from unify.core.stored_text import StoredText, decode, gettext, ngettext
from unify.tenancy.scoping import org_scope

pytestmark = [pytest.mark.django_db, pytest.mark.shipstation_rate_limit(None)]


@pytest.fixture(autouse=True)
def _default_language_after():
    """A German page leaves German active in this thread: later tests start in English."""
    yield
    translation.deactivate()


def _page(client, user, language: str, url: str) -> str:
    set_user_language(user, language)
    client.force_login(user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    assert response["Content-Language"] == language
    return response.content.decode()


def _in(language: str, msgid: str, params: dict | None = None) -> str:
    """The message as the page shows it in ``language`` (HTML-escaped)."""
    with translation.override(language):
        text = translation.gettext(msgid)
    return escape(text % params if params is not None else text)


def _column(table: str, column: str, pk: int) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _both(client, user, url: str, msgid: str, params: dict | None = None) -> None:
    """German readers read the German text and not the English, English readers the English."""
    german = _page(client, user, "de", url)
    english = _page(client, user, "en", url)
    de, en = _in("de", msgid, params), _in("en", msgid, params)
    assert de != en, msgid
    assert de in german and en not in german, msgid
    assert en in english and de not in english, msgid


# The source is named from the registry (the connection's provider).
SOURCE = {"source": "ShipStation"}
KEYS_REJECTED_RUN = (
    "%(source)s rejected the API keys (they may have expired). Enter new keys on the "
    "connection page; the import continues from here."
)
KEYS_REJECTED_CONNECTION = (
    "%(source)s rejected the API Key and API Secret: they may have expired or been regenerated."
)


def test_expired_keys_read_in_each_readers_language(ss_app, org_a, owner_of_a, client, settings):  # noqa: F811
    settings.SALES_SYNC_PAGE_SIZE = 20
    ss_app.add_account(SS_KEY, SS_SECRET, seed=24, orders=40, days=30)
    connection = make_connection(org_a)
    ss_app.expire_account(SS_KEY)
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        failed = sync_run_execute(run_id=run.pk).run
    assert failed.status == SyncStatus.FAILED
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_CREDENTIALS
    # Stored as what it means (msgid), not as English words.
    assert _column("sales_syncrun", "error", failed.pk).startswith('{"msgid":')
    stored_error = decode(_column("sales_syncrun", "error", failed.pk))
    assert (stored_error.msgid, stored_error.params) == (KEYS_REJECTED_RUN, SOURCE)
    with translation.override("en"):
        assert str(stored_error) == KEYS_REJECTED_RUN % SOURCE
    # The existing English reading still holds.
    assert "rejected the API keys" in SyncRun.all_orgs.get(pk=failed.pk).error

    slug = org_a.slug
    history = reverse(
        "sales:sync_history", kwargs={"org_slug": slug, "connection_id": connection.pk}
    )
    _both(client, owner_of_a.user, history, KEYS_REJECTED_RUN, SOURCE)
    detail = reverse(
        "connections:detail", kwargs={"org_slug": slug, "connection_id": connection.pk}
    )
    _both(client, owner_of_a.user, detail, KEYS_REJECTED_CONNECTION, SOURCE)


def test_a_failed_run_and_its_notification_in_each_readers_language(
    ss_app,  # noqa: F811
    org_a,
    owner_of_a,
    client,
    settings,
):
    settings.SALES_SYNC_PAGE_SIZE = 20
    settings.SALES_SYNC_MAX_ATTEMPTS = 2
    ss_app.add_account(SS_KEY, SS_SECRET, seed=23, orders=40, days=30)
    connection = make_connection(org_a)
    ss_app.inject_faults("500", count=10)
    with org_scope(org_a.pk):
        run = sync_request(organization=org_a, connection=connection)
        failed = sync_run_execute(run_id=run.pk).run
    assert failed.status == SyncStatus.FAILED
    stored = SyncRun.all_orgs.get(pk=failed.pk).error
    assert isinstance(stored, StoredText) and "ShipStation did not answer" in stored

    history = reverse(
        "sales:sync_history", kwargs={"org_slug": org_a.slug, "connection_id": connection.pk}
    )
    _both(client, owner_of_a.user, history, stored.msgid, stored.params)
    # The notification quotes the run's error: in German inside German, English inside English.
    notifications = reverse("notifications:list", kwargs={"org_slug": org_a.slug})
    german = _page(client, owner_of_a.user, "de", notifications)
    english = _page(client, owner_of_a.user, "en", notifications)
    frame_de = _in("de", "It failed after its retries: %(error)s", {"error": ""})
    assert frame_de + _in("de", stored.msgid, stored.params) in german
    assert (
        _in("en", "It failed after its retries: %(error)s", {"error": ""})
        + _in("en", stored.msgid, stored.params)
        in english
    )
    assert _in("en", stored.msgid, stored.params) not in german


def test_an_unreadable_order_stored_before_the_source_was_named_still_reads_in_german():
    # Issues stored before the reason named its source from the registry keep their msgid.
    reason = decode(StoredText("ShipStation fails on this order").encode())
    with translation.override("de"):
        assert str(reason) == "ShipStation scheitert an dieser Bestellung"
    with translation.override("en"):
        assert str(reason) == "ShipStation fails on this order"


def test_an_unreadable_order_is_listed_in_each_readers_language(
    ss_app,  # noqa: F811
    org_a,
    owner_of_a,
    client,
    settings,
):
    settings.SALES_SYNC_PAGE_SIZE = 20
    account = ss_app.add_account(SS_KEY, SS_SECRET, seed=31, orders=60, days=30)
    poison = sorted(account.orders.records.values(), key=lambda o: (o.modify_date, o.order_id))
    ss_app.poison_order(SS_KEY, poison[30].order_id)
    connection = make_connection(org_a)
    run = run_sync(org_a, connection)
    assert run.status == SyncStatus.PARTIAL
    with org_scope(org_a.pk):
        [issue] = ImportIssue.objects.all()
    assert issue.reason == "ShipStation fails on this order"  # as before, for English

    issues = reverse("sales:sync_run_issues", kwargs={"org_slug": org_a.slug, "run_id": run.pk})
    _both(
        client,
        owner_of_a.user,
        issues,
        "%(source)s fails on this order",
        {"source": "ShipStation"},
    )
    # The run's summary (a plural) is kept as its two forms and the count.
    summary = SyncRun.all_orgs.get(pk=run.pk).error
    assert summary.plural and summary.number == 1
    with translation.override("de"):
        assert str(summary) == translation.ngettext(
            "%(count)s record could not be read; see the import issues.",
            "%(count)s records could not be read; see the import issues.",
            1,
        ) % {"count": 1}


def test_a_held_posting_reads_in_each_readers_language_with_quickbooks_words_kept(
    org_a,
    owner_of_a,
    client,
    qbo,
    qbo_ledger,  # noqa: F811
    scope_a,
):
    _order, posting = post_in_closed_books(org_a, qbo, qbo_ledger)
    assert posting.status == PostingState.FAILED
    assert "books are closed" in posting.error and "2026-05-31" in posting.error
    error = posting.error
    assert isinstance(error, StoredText) and "books are closed" in error.msgid

    url = reverse(
        "accounting:posting_detail", kwargs={"org_slug": org_a.slug, "posting_id": posting.pk}
    )
    german = _page(client, owner_of_a.user, "de", url)
    english = _page(client, owner_of_a.user, "en", url)
    with translation.override("de"):
        held_de = str(error)
    assert "Die Bücher in QuickBooks sind" in held_de and "2026-05-31" in held_de
    assert escape(held_de) in german and "books are closed" not in german
    assert "books are closed" in english and "Die Bücher" not in english
    # The posting log's entry for the same moment follows the reader too.
    event = posting.events.order_by("-pk").first()
    assert isinstance(event.message, StoredText)
    with translation.override("de"):
        assert escape(str(event.message)) in german


def test_a_revoked_ledger_reads_in_each_readers_language(
    org_a,
    owner_of_a,
    client,
    qbo,
    qbo_ledger,  # noqa: F811
    scope_a,
    django_capture_on_commit_callbacks,
):
    order = make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)])
    qbo.revoke_tokens()
    posting_enqueue_orders(organization=org_a, order_ids=[order.pk])
    with django_capture_on_commit_callbacks(execute=True):
        posting_drain(ledger_connection_id=qbo_ledger.pk)
    ledger = LedgerConnection.objects.get(pk=qbo_ledger.pk)
    assert ledger.status == LedgerStatus.NEEDS_REAUTH
    message = ledger.status_message
    assert isinstance(message, StoredText)
    url = reverse("accounting:home", kwargs={"org_slug": org_a.slug})
    _both(client, owner_of_a.user, url, message.msgid, message.params)


def test_rejected_order_file_rows_read_in_each_readers_language(org_a, owner_of_a, client):
    org_a.plan = "pro"
    org_a.save()
    StoreConnectionFactory(organization=org_a, mode=ConnectionMode.SHIPPING_EXPENSE)
    client.force_login(owner_of_a.user)
    post_file(client, org_a, csv_bytes([row("1"), row("2", qty="lots")]))
    upload = OrderFileUpload.all_orgs.get(organization=org_a)
    [problem] = upload.problems.all()
    assert problem.reason == "quantity is not a number: lots"
    url = reverse(
        "connections:order_file_result", kwargs={"org_slug": org_a.slug, "upload_id": upload.pk}
    )
    _both(
        client,
        owner_of_a.user,
        url,
        "%(column)s is not a number: %(value)s",
        {"column": "quantity", "value": "lots"},
    )


def test_old_plain_rows_and_provider_text_stay_as_written(org_a, owner_of_a, client, settings):
    connection = make_connection(org_a)
    StoreConnection.all_orgs.filter(pk=connection.pk).update(
        status=ConnectionStatus.NEEDS_CREDENTIALS, status_message="Written before issue 23."
    )
    url = reverse(
        "connections:detail", kwargs={"org_slug": org_a.slug, "connection_id": connection.pk}
    )
    assert "Written before issue 23." in _page(client, owner_of_a.user, "de", url)


def test_stored_text_keeps_meaning_through_nesting_plurals_slicing_and_pickling():
    with translation.override("en"):
        inner = gettext("Connect a ledger on the Accounting tab first.")
        message = gettext("Order %(id)s: %(reason)s") % {"id": 7, "reason": inner}
        count = ngettext(
            "%(count)s record could not be read; see the import issues.",
            "%(count)s records could not be read; see the import issues.",
            3,
        ) % {"count": 3}
    assert message == "Order 7: Connect a ledger on the Accounting tab first."
    assert message[:4000] is message and isinstance(message[:5], str)
    for value in (message, count):
        with translation.override("en"):  # read back in English, it equals the English text
            assert decode(value.encode()) == value
        assert pickle.loads(pickle.dumps(value)).encode() == value.encode()
    with translation.override("de"):
        assert str(message).startswith("Bestellung 7: ") and "Buchhaltung" in str(message)
        assert str(count).startswith("3 Datensätze")
        assert f"{decode(message.encode())}" == str(message)
    # Not a stored message: plain text and lookalikes come back as they are.
    assert decode('{"msgid": 3}') == '{"msgid": 3}'
    assert decode("QuickBooks refused it.") == "QuickBooks refused it."
