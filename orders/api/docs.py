"""Swagger UI and ReDoc, served from our static files (drf-spectacular-sidecar) and fenced in by a
Content-Security-Policy: the bundles hard-code a few outside URLs (ReDoc's sidebar logo comes from
its CDN), and the browser must not fetch them on a machine without internet, or anywhere else."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# ReDoc renders the schema in a web worker built from a blob, and both UIs use inline styles.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:"
)


def _local_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = CSP
        return response

    return wrapped


@method_decorator(_local_only, name="get")
class SwaggerDocsView(SpectacularSwaggerView):
    pass


@method_decorator(_local_only, name="get")
class RedocDocsView(SpectacularRedocView):
    # Our template: drf-spectacular's loads web fonts from Google.
    template_name = "orders/api/redoc.html"
