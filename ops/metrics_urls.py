"""`/metrics` at the site's root (Prometheus' default path), outside the ops screen's namespace."""

from django.urls import path

from ops.metrics import metrics_view

urlpatterns = [path("metrics", metrics_view, name="metrics")]
