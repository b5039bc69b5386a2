"""Create (or refresh) the demo user and organization of ``make run`` and print how to sign in."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from unify.tenancy.models import Membership, Organization, Role
from unify.tenancy.plans import PlanKey

DEMO_EMAIL = "demo@unify.local"
DEMO_PASSWORD = "unify-demo-2026"
DEMO_ORG_SLUG = "demo-outfitters"


class Command(BaseCommand):
    help = "Create the demo user and organization (idempotent) and print the sign-in details."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            # A known password on a production site would be an open door.
            raise CommandError("demo_setup only runs in debug mode (make run).")
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username="demo", defaults={"email": DEMO_EMAIL, "first_name": "Demo"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
        )
        org, _ = Organization.objects.get_or_create(
            slug=DEMO_ORG_SLUG,
            defaults={
                "name": "Demo Outfitters",
                "plan": PlanKey.PRO,
                "timezone": "America/Chicago",
            },
        )
        Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.OWNER})
        self.stdout.write(
            f"Demo sign-in: {DEMO_EMAIL} / {DEMO_PASSWORD}  (organization: {org.name})"
        )
