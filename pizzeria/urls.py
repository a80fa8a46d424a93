from django.contrib import admin
from django.urls import include, path

from pizzeria import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("analytics/", include("analytics.urls")),
    path("", include("orders.urls")),
]
