"""Re-encrypt every encrypted column under the newest key in ``UNIFY_ENCRYPTION_KEYS``.

Rotation: put the new key first in ``UNIFY_ENCRYPTION_KEYS`` (keep the old ones after it),
deploy, run this command, then drop the old keys. Rows are read as raw ciphertext and
re-encrypted without ever being held as a model instance, in batches, each batch in its own
transaction, so the command can be interrupted and run again.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from unify.core import crypto
from unify.core.fields import encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column under the newest UNIFY_ENCRYPTION_KEYS key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options) -> None:
        from unify.tenancy.rls import rls_bypass

        # Every organization's secrets (row-level security bypass "maintenance").
        with rls_bypass("maintenance"):
            self._rotate(batch_size)

    def _rotate(self, batch_size: int) -> None:
        total_rotated = total_current = 0
        qn = connection.ops.quote_name
        for model, field in encrypted_fields():
            table, pk, column = model._meta.db_table, model._meta.pk.column, field.column
            rotated = current = 0
            last_pk = None
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    where = f"WHERE {qn(pk)} > %s " if last_pk is not None else ""
                    cursor.execute(
                        f"SELECT {qn(pk)}, {qn(column)} FROM {qn(table)} {where}"  # noqa: S608
                        f"ORDER BY {qn(pk)} LIMIT %s",
                        [last_pk, batch_size] if last_pk is not None else [batch_size],
                    )
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    updates = []
                    for row_pk, token in rows:
                        if not token:
                            continue
                        if crypto.is_under_newest_key(token):
                            current += 1
                        else:
                            updates.append((crypto.rotate(token), row_pk))
                    if updates:
                        cursor.executemany(
                            f"UPDATE {qn(table)} SET {qn(column)} = %s "  # noqa: S608
                            f"WHERE {qn(pk)} = %s",
                            updates,
                        )
                    rotated += len(updates)
                    last_pk = rows[-1][0]
            total_rotated += rotated
            total_current += current
            self.stdout.write(
                f"{model._meta.label}.{field.name}: {rotated} re-encrypted, "
                f"{current} already under the newest key"
            )
        rotated, current = self._rotate_mfa_secrets(batch_size)
        total_rotated += rotated
        total_current += current
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {total_rotated} re-encrypted, {total_current} already current."
            )
        )

    def _rotate_mfa_secrets(self, batch_size: int) -> tuple[int, int]:
        """allauth MFA keeps TOTP secrets and recovery-code seeds in a JSON column, encrypted
        by our MFA adapter; rotate those values inside the JSON."""
        from allauth.mfa.models import Authenticator

        rotated = current = 0
        last_pk = 0
        while True:
            with transaction.atomic():
                batch = list(
                    Authenticator.objects.select_for_update()
                    .filter(pk__gt=last_pk)
                    .order_by("pk")[:batch_size]
                )
                if not batch:
                    break
                for authenticator in batch:
                    data, changed = dict(authenticator.data), False
                    for key in ("secret", "seed"):
                        if isinstance(data.get(key), str):
                            if crypto.is_under_newest_key(data[key]):
                                current += 1
                            else:
                                data[key], changed = crypto.rotate(data[key]), True
                                rotated += 1
                    if isinstance(data.get("migrated_codes"), list):
                        codes = data["migrated_codes"]
                        if all(crypto.is_under_newest_key(c) for c in codes):
                            current += 1
                        else:
                            data["migrated_codes"] = [crypto.rotate(c) for c in codes]
                            changed, rotated = True, rotated + 1
                    if changed:
                        Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
                last_pk = batch[-1].pk
        self.stdout.write(
            f"mfa.Authenticator secrets: {rotated} re-encrypted, "
            f"{current} already under the newest key"
        )
        return rotated, current
