from __future__ import annotations

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from unify.notifications import messages, services
from unify.notifications.models import Delivery, Kind, Notification
from unify.tenancy.decorators import require_role
from unify.tenancy.models import Role

PAGE_SIZE = 50


def _mine(request: HttpRequest):
    return Notification.objects.filter(user_id=request.user.pk).select_related("event")


@require_role(Role.MEMBER)
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = [
        {
            "notification": n,
            "title": messages.title(n.event.kind, n.event.params),
            "body": messages.body(n.event.kind, n.event.params),
        }
        for n in _mine(request)[:PAGE_SIZE]
    ]
    return render(request, "notifications/list.html", {"rows": rows})


@require_role(Role.MEMBER)
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and go to the page that fixes it (POST), or show it (GET)."""
    notification = _mine(request).filter(pk=notification_id).first()
    if notification is None:
        raise Http404
    if request.method == "POST":
        services.mark_read(
            organization_id=request.organization.pk,
            user_id=request.user.pk,
            notification_id=notification.pk,
        )
        if notification.event.link:
            return redirect(notification.event.link)
        return redirect("notifications:list", org_slug=request.organization.slug)
    context = {
        "notification": notification,
        "title": messages.title(notification.event.kind, notification.event.params),
        "body": messages.body(notification.event.kind, notification.event.params),
        "action": messages.action(notification.event.kind),
    }
    return render(request, "notifications/detail.html", context)


@require_POST
@require_role(Role.MEMBER)
def notification_read_all(request: HttpRequest) -> HttpResponse:
    services.mark_read(organization_id=request.organization.pk, user_id=request.user.pk)
    return redirect("notifications:list", org_slug=request.organization.slug)


@require_role(Role.MEMBER)
def notification_settings(request: HttpRequest) -> HttpResponse:
    org_id, user_id = request.organization.pk, request.user.pk
    if request.method == "POST":
        services.preferences_save(
            organization_id=org_id,
            user_id=user_id,
            choices={kind: request.POST.get(kind, "") for kind in Kind.values},
        )
        flash.success(request, _("Notification settings saved."))
        return redirect("notifications:settings", org_slug=request.organization.slug)
    current = services.preferences_for(organization_id=org_id, user_id=user_id)
    kinds = [{"key": k, "label": label, "value": current[k]} for k, label in Kind.choices]
    return render(
        request,
        "notifications/settings.html",
        {"kinds": kinds, "deliveries": Delivery.choices},
    )
