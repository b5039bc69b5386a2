"""Model fields whose column holds only ciphertext.

Reading gives a :class:`~unify.core.secrets.Secret`; writing accepts a plain value or a
``Secret``. The column is text (a Fernet token), so nothing about the value leaks through
the database, and the fields are not editable, so no generic form or admin shows them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from unify.core import crypto
from unify.core.secrets import Secret


class EncryptedFieldMixin:
    encrypted = True

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


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    def _serialize(self, value: Any) -> str:
        return str(value)

    def _deserialize(self, text: str) -> str:
        return text


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
