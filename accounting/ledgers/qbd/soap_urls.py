from django.urls import path

from accounting.ledgers.qbd import soap_views

urlpatterns = [path("", soap_views.endpoint, name="qbwc")]
