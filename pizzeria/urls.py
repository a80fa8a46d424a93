from django.contrib import admin
from django.urls import include, path

from pizzeria import health

urlpatterns = [
    path("admin/ops/", include("ops.urls")),  # before the admin's catch-all
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("ops.metrics_urls")),
    path("analytics/", include("analytics.urls")),
    path("kitchen/", include("kitchen.urls")),
    path("", include("notifications.urls")),
    path("", include("integrations.urls")),
    path("", include("orders.urls")),
]
