from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from unify.tenancy.decorators import require_role
from unify.tenancy.models import Role


@require_role(Role.MEMBER)
def order_list(request: HttpRequest) -> HttpResponse:
    return render(request, "sales/list.html")
