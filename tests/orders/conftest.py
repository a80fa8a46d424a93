import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_throttle_cache():
    # DRF throttles count requests in the default cache; start each test with a clean slate.
    cache.clear()
    yield
    cache.clear()
