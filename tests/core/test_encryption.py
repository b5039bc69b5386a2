"""Encrypted columns: ciphertext only in the database, a masked Secret in Python, rotation
under a new key with the old one still readable, and a clear error for a wrong key."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection

from connections.models import StoreConnection
from unify.core.exceptions import DecryptionError
from unify.core.secrets import Secret, mask_hint

pytestmark = pytest.mark.django_db

CREDENTIALS = {"api_key": "ak_live_0123456789abcdef", "api_secret": "sk_live_fedcba9876543210"}


def _raw_credentials(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM connections_storeconnection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def stored(org_a, org_b):
    a = StoreConnection.all_orgs.create(organization=org_a, name="A", credentials=CREDENTIALS)
    b = StoreConnection.all_orgs.create(
        organization=org_b, name="B", credentials={"api_key": "k2", "api_secret": "s2"}
    )
    return a, b


def test_column_holds_only_ciphertext(stored, settings):
    raw = _raw_credentials(stored[0].pk)
    for plain in ("ak_live_0123456789abcdef", "sk_live_fedcba9876543210", "api_key", "api_secret"):
        assert plain not in raw
    # It is a Fernet token under the configured key, holding the JSON.
    plaintext = Fernet(settings.UNIFY_ENCRYPTION_KEYS[0]).decrypt(raw.encode())
    assert json.loads(plaintext) == CREDENTIALS


def test_python_value_is_a_secret_that_never_shows_itself(stored, caplog):
    connection_a = StoreConnection.all_orgs.get(pk=stored[0].pk)
    value = connection_a.credentials
    assert isinstance(value, Secret)
    assert value.reveal() == CREDENTIALS
    for shown in (repr(value), str(value), f"{value}", repr(connection_a.__dict__)):
        assert "ak_live" not in shown and "sk_live" not in shown
    assert repr(value) == "Secret('********')"
    with caplog.at_level(logging.INFO):
        logging.getLogger("unify.test").info("credentials are %s", value)
    assert "sk_live" not in caplog.text
    assert mask_hint("ak_live_0123456789abcdef") == "••••cdef"


def test_dumpdata_carries_ciphertext_not_plaintext(stored):
    out = io.StringIO()
    call_command("dumpdata", "connections.storeconnection", stdout=out)
    assert "ak_live" not in out.getvalue() and "sk_live" not in out.getvalue()


def test_json_decimals_round_trip_exactly_and_numbers_read_as_decimal(org_a):
    row = StoreConnection.all_orgs.create(
        organization=org_a, name="D", credentials={"fee": Decimal("12.30"), "count": 3}
    )
    # Decimals are written as exact strings, never through float.
    assert StoreConnection.all_orgs.get(pk=row.pk).credentials.reveal() == {
        "fee": "12.30",
        "count": 3,
    }


def test_null_stays_null(org_a):
    row = StoreConnection.all_orgs.create(organization=org_a, name="N", credentials=None)
    assert _raw_credentials(row.pk) is None
    assert StoreConnection.all_orgs.get(pk=row.pk).credentials is None


def test_rotation_reencrypts_under_new_key_and_old_rows_stay_readable(stored, settings):
    old_key = settings.UNIFY_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    raw_before = _raw_credentials(stored[0].pk)

    # During rotation both keys are configured, newest first: old rows still decrypt.
    settings.UNIFY_ENCRYPTION_KEYS = [new_key, old_key]
    assert StoreConnection.all_orgs.get(pk=stored[0].pk).credentials.reveal() == CREDENTIALS

    out = io.StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "1", stdout=out)

    assert (
        "connections.StoreConnection.credentials: 2 re-encrypted, 0 already under the newest key"
        in out.getvalue()
    )
    assert "Done: 2 re-encrypted, 0 already current." in out.getvalue()
    raw_after = _raw_credentials(stored[0].pk)
    assert raw_after != raw_before
    assert json.loads(Fernet(new_key).decrypt(raw_after.encode())) == CREDENTIALS
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(raw_after.encode())
    # With the old key dropped, every row still reads.
    settings.UNIFY_ENCRYPTION_KEYS = [new_key]
    assert [c.credentials.reveal()["api_key"] for c in StoreConnection.all_orgs.order_by("pk")] == [
        "ak_live_0123456789abcdef",
        "k2",
    ]
    # A second run finds nothing to do.
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Done: 0 re-encrypted, 2 already current." in out.getvalue()


def test_wrong_key_raises_decryption_error_not_ciphertext(stored, settings):
    raw = _raw_credentials(stored[0].pk)
    settings.UNIFY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError) as caught:
        StoreConnection.all_orgs.get(pk=stored[0].pk)
    assert raw not in str(caught.value)
    assert "cannot be decrypted with any key in UNIFY_ENCRYPTION_KEYS" in str(caught.value)
    # Rotation refuses rather than writing anything it cannot read.
    with pytest.raises(DecryptionError):
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    assert _raw_credentials(stored[0].pk) == raw


def test_an_assigned_plain_value_is_held_as_a_secret_at_once(org_a):
    """Not only after a read from the database: the value a form or a token refresh has just
    assigned never sits on the instance in plain, where a repr or an error report shows it."""
    row = StoreConnection(organization=org_a, name="Fresh", credentials=dict(CREDENTIALS))
    assert isinstance(row.credentials, Secret)
    assert row.credentials.reveal() == CREDENTIALS
    assert "sk_live" not in repr(row.__dict__)

    row.credentials = {"api_key": "ak_other", "api_secret": "sk_live_other"}
    assert isinstance(row.credentials, Secret)
    assert "sk_live_other" not in repr(vars(row))
    row.save()
    assert "sk_live_other" not in _raw_credentials(row.pk)
    row.refresh_from_db()
    assert row.credentials.reveal()["api_secret"] == "sk_live_other"

    row.credentials = None
    assert row.credentials is None
    same = Secret(CREDENTIALS)
    row.credentials = same
    assert row.credentials is same  # a Secret is kept as it is, not wrapped twice
