from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from orders.api.docs import RedocDocsView, SwaggerDocsView

urlpatterns = [
    path("api/", include("orders.api.urls")),
    path("", include("orders.tracker.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", RedocDocsView.as_view(url_name="api-schema"), name="api-redoc"),
]
