from django.urls import path

from unify.support import views

app_name = "support"

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/<int:organization_id>/", views.organization_page, name="organization"),
    path("orgs/<int:organization_id>/actions/<str:action>/", views.action, name="action"),
    path("orgs/<int:organization_id>/view-as/", views.view_as, name="view_as"),
    path("view-as/stop/", views.view_as_end, name="view_as_stop"),
]
