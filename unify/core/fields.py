"""Model fields whose column holds only ciphertext.

Reading gives a :class:`~unify.core.secrets.Secret`, also right after assigning a plain
value (the attribute wraps it); writing accepts a plain value or a ``Secret``. The column is
text (a Fernet token), so nothing about the value leaks through the database, and the fields
are not editable, so no generic form or admin shows them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from unify.core import crypto
from unify.core.secrets import Secret


class SecretAttribute(DeferredAttribute):
    """The model attribute of an encrypted field: whatever is assigned (a plain value right
    after a form or a token refresh, too) is held as a :class:`Secret`, so the instance
    never carries the plain value where a ``repr``, a log line or an error report could
    show it."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        if value is not None and not isinstance(value, Secret):
            value = Secret(value)
        instance.__dict__[self.field.attname] = value


class EncryptedFieldMixin:
    encrypted = True
    descriptor_class = SecretAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def _serialize(self, value: Any) -> str:
        raise NotImplementedError

    def _deserialize(self, text: str) -> Any:
        raise NotImplementedError

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret | None:
        if value is None or value == "":
            return None
        return Secret(self._deserialize(crypto.decrypt(value)))

    def to_python(self, value: Any) -> Secret | None:
        if value is None or isinstance(value, Secret):
            return value
        return Secret(value)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        plain = value.reveal() if isinstance(value, Secret) else value
        return crypto.encrypt(self._serialize(plain))

    def value_to_string(self, obj: models.Model) -> str:
        # Serialization (dumpdata, fixtures) carries ciphertext, never the plaintext.
        return self.get_prep_value(self.value_from_object(obj)) or ""


class EncryptedJSONField(EncryptedFieldMixin, models.TextField):
    def _serialize(self, value: Any) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)

    def _deserialize(self, text: str) -> Any:
        return json.loads(text, parse_float=Decimal)


def encrypted_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every (model, field) pair in the project whose column is encrypted."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if getattr(field, "encrypted", False)
    ]
