"""Public webhook receivers (outside ``/o/``): the secret token in the path names the
connection; nothing else is trusted.

One route for every source, ``<provider>/<token>/``. Each source that sends webhooks also
gets a route named for its key (``sales_webhooks:<key>``, the same path and view): webhooks
registered at the source before the generic route existed point at that address.
"""

from django.urls import path

from connections.sources.registry import source_providers
from sales import views

app_name = "sales_webhooks"

urlpatterns = [
    path(f"{key}/<str:token>/", views.source_webhook, {"provider": key}, name=key)
    for key, provider in source_providers().items()
    if provider.webhook_events
] + [
    path("<slug:provider>/<str:token>/", views.source_webhook, name="receive"),
]
