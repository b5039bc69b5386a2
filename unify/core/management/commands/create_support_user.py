"""Create (or update) a support staff account that can sign in at once.

``createsuperuser`` alone is not enough: sign-in goes through allauth with mandatory email
verification, and a user without a confirmed address is sent a confirmation email instead
of being let in. This command makes a staff superuser whose address is confirmed.

The password is read from ``UNIFY_SUPPORT_PASSWORD`` or asked for (twice); it is never an
argument, so it stays out of shell history and process lists.
"""

from __future__ import annotations

import getpass
import os

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from unify.core.site import site_url

PASSWORD_VARIABLE = "UNIFY_SUPPORT_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create or update a support staff account (staff, superuser, email confirmed) that can "
        f"sign in to /admin/ at once. Password from {PASSWORD_VARIABLE} or asked for."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", help="The support person's email address (sign-in name).")
        parser.add_argument(
            "--no-input",
            action="store_false",
            dest="interactive",
            help=f"Never prompt: the email comes from --email, the password from "
            f"{PASSWORD_VARIABLE}.",
        )

    def handle(self, *args, email: str | None, interactive: bool, **options) -> None:
        email = (email or "").strip().lower()
        if not email and interactive:
            email = input("Email: ").strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(
                f"Give the support person's email address (not {email!r})."
            ) from None
        User = get_user_model()
        user = User.objects.filter(email__iexact=email).first() or User(username=email, email=email)
        password = self._password(user, interactive=interactive)
        with transaction.atomic():
            created = user.pk is None
            user.email = email
            user.is_active = user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            EmailAddress.objects.filter(user=user).exclude(email__iexact=email).update(
                primary=False
            )
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
        self.stdout.write(
            f"Support account {email} {'created' if created else 'updated'}: staff, superuser, "
            f"email confirmed. Sign in at {site_url('/accounts/login/')} and open "
            f"{site_url('/admin/')}."
        )

    def _password(self, user, *, interactive: bool) -> str:
        password = os.environ.get(PASSWORD_VARIABLE, "")
        if not password:
            if not interactive:
                raise CommandError(f"Set {PASSWORD_VARIABLE} (or run without --no-input).")
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The two passwords differ. Nothing was changed.")
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages) + " Nothing was changed.") from None
        return password
