"""The cache lives on a Redis database of its own, never the broker's: cache.clear() is FLUSHDB."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache

from pizzeria.settings.base import redis_sibling_url
from tests.pizzeria.test_settings import PRODUCTION, run, settings_value
from tests.worker import app_broker, free_port, private_redis, redis_broker_only


@pytest.mark.parametrize(
    ("broker", "cache"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/1"),
        (
            "rediss://:pw@redis.example:6380/7?ssl_cert_reqs=none",
            "rediss://:pw@redis.example:6380/8?ssl_cert_reqs=none",
        ),
        ("redis://h:6379/15", "redis://h:6379/14"),  # Redis has 16 databases: the last one steps down
        ("unix:///run/redis.sock?db=2", "unix:///run/redis.sock?db=3"),
    ],
)
def test_the_default_cache_url_is_the_next_database_of_the_same_server(broker, cache):
    assert redis_sibling_url(broker) == cache


def test_these_settings_keep_the_cache_off_the_broker_database():
    assert settings.CACHES["default"]["LOCATION"] != settings.CELERY_BROKER_URL


def test_production_derives_the_cache_url_and_refuses_one_equal_to_the_broker():
    assert settings_value("CACHE_URL", **PRODUCTION) == "redis://redis.invalid:6379/1"
    result = run(
        [__import__("sys").executable, "manage.py", "check"], **PRODUCTION, CACHE_URL=PRODUCTION["REDIS_URL"]
    )
    assert result.returncode != 0 and "CACHE_URL is the broker's URL" in result.stderr


@redis_broker_only
@pytest.mark.django_db
def test_cache_clear_leaves_queued_broker_messages_alone():
    from pizzeria.celery import app

    port = free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    with private_redis(port), app_broker(broker_url):
        # given a message waiting in a queue of the broker ...
        app.send_task("eventbus.run_delivery", args=(1,), queue="kitchen")
        client = redis.Redis.from_url(broker_url)
        assert client.llen("kitchen") == 1

        # when an admin clears the cache on its default database
        cache = RedisCache(redis_sibling_url(broker_url), {})
        cache.set("throttle_token_ip_1.2.3.4", [1.0])
        cache.clear()

        # then the cache is empty and the message is still queued
        assert cache.get("throttle_token_ip_1.2.3.4") is None
        assert client.llen("kitchen") == 1

        # (what the separate database prevents: a cache on the broker's own database flushes the queues)
        RedisCache(broker_url, {}).clear()
        assert client.llen("kitchen") == 0
