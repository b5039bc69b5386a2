"""Plans as a small registry of feature flags and limits. Billing is not integrated: support
staff set an organization's plan in the admin."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanKey(models.TextChoices):
    STARTER = "starter", _("Starter")
    PRO = "pro", _("Pro")
    ADVANCED = "advanced", _("Advanced")


@dataclass(frozen=True, slots=True)
class Plan:
    key: str
    name: str
    shipping_expense_mode: bool
    max_store_connections: int
    min_sync_interval_minutes: int
    max_members: int

    def allows_sync_interval(self, minutes: int) -> bool:
        return minutes >= self.min_sync_interval_minutes


PLANS: dict[str, Plan] = {
    PlanKey.STARTER: Plan(
        key=PlanKey.STARTER,
        name="Starter",
        shipping_expense_mode=False,
        max_store_connections=1,
        min_sync_interval_minutes=24 * 60,
        max_members=3,
    ),
    PlanKey.PRO: Plan(
        key=PlanKey.PRO,
        name="Pro",
        shipping_expense_mode=True,
        max_store_connections=3,
        min_sync_interval_minutes=60,
        max_members=10,
    ),
    PlanKey.ADVANCED: Plan(
        key=PlanKey.ADVANCED,
        name="Advanced",
        shipping_expense_mode=True,
        max_store_connections=10,
        min_sync_interval_minutes=15,
        max_members=50,
    ),
}

# The auto-sync intervals offered anywhere; each plan allows those at or above its minimum.
SYNC_INTERVAL_CHOICES_MINUTES: tuple[int, ...] = (15, 30, 60, 180, 360, 720, 1440)


def plan_for(key: str) -> Plan:
    return PLANS.get(key, PLANS[PlanKey.STARTER])
