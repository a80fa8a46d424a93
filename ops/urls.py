from django.urls import path, re_path

from ops import views

app_name = "ops"
urlpatterns = [
    path("", views.ops_screen, name="screen"),
    re_path(
        r"^groups/(?P<group>[0-9a-f]{12})/(?P<action>replay|discard)/$",
        views.group_action,
        name="group-action",
    ),
]
