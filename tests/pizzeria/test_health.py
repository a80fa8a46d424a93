import pytest

from tests.factories import make_staff, make_user
from tests.worker import app_broker, free_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_dependencies(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "redis": "ok"}


def test_readyz_names_the_broker_when_it_is_down(client):
    with app_broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == "failed"  # the dependency's name and a word, nothing about the cause


def _closed_port_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/1"


@pytest.mark.parametrize("which", ["cache", "live pages"])
def test_readyz_fails_when_the_redis_of_the_cache_or_the_live_pages_is_away(client, settings, which):
    # As with RabbitMQ as the broker: the broker answers, the Redis that throttles and live pages need does not.
    if which == "cache":
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": _closed_port_url()}}
    else:
        settings.REDIS_URL = _closed_port_url()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "ok", "redis": "failed"}


def test_readyz_gives_staff_the_details_and_anonymous_callers_none(client, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": _closed_port_url()}}
    assert "details" not in client.get("/readyz").json()
    client.force_login(make_user())  # signed in but not staff: still the public answer
    assert "details" not in client.get("/readyz").json()

    client.force_login(make_staff(superuser=False))
    body = client.get("/readyz").json()

    assert body["redis"] == "failed"
    assert "Error" in body["details"]["redis"]["error"]  # e.g. "ConnectionError: Error 111 connecting to …"
    assert body["details"]["database"]["ms"] >= 0 and "error" not in body["details"]["database"]
