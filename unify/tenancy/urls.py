from django.urls import path

from unify.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("settings/", views.settings_organization, name="settings_organization"),
    path("settings/delete/", views.organization_delete, name="organization_delete"),
    path("settings/members/", views.settings_members, name="settings_members"),
    path(
        "settings/members/<int:membership_id>/role/",
        views.member_role_change,
        name="member_role_change",
    ),
    path("settings/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/security/", views.settings_security, name="settings_security"),
    path("settings/profile/", views.settings_profile, name="settings_profile"),
]
