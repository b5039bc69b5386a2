"""Public webhook receivers (outside ``/o/``): the secret token in the path names the
connection; nothing else is trusted."""

from django.urls import path

from sales import views

app_name = "sales_webhooks"

urlpatterns = [
    path("shipstation/<str:token>/", views.shipstation_webhook, name="shipstation"),
]
