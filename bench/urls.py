"""bench.settings' ROOT_URLCONF: the product's URLs plus the API phase's minimal create."""

from django.urls import path

from bench.views import BenchNoteCreateApi
from pizzeria.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/notes/", BenchNoteCreateApi.as_view(), name="bench-notes"),
    *product_urlpatterns,
]
