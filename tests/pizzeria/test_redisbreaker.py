"""The per-process Redis breaker: one timeout opens it for the server, calls skip Redis meanwhile."""

from __future__ import annotations

import redis

from pizzeria import redisbreaker

URL = "redis://10.0.0.9:6390/3"


def test_a_redis_error_opens_the_breaker_for_that_server_only(settings):
    settings.REDIS_BREAKER_SECONDS = 60
    calls = []

    def timing_out():
        calls.append(1)
        raise redis.TimeoutError("Timeout reading from socket")

    assert redisbreaker.guarded(URL, "test", timing_out, default="fallback") == "fallback"
    # the same server under another database number is skipped without a call; another server is not
    assert redisbreaker.guarded("redis://10.0.0.9:6390/4", "test", timing_out, default="skipped") == "skipped"
    assert calls == [1]
    assert (
        redisbreaker.guarded("redis://10.0.0.9:6391/3", "test", lambda: "answered", default=None)
        == "answered"
    )


def test_after_the_pause_redis_is_tried_again(settings, monkeypatch):
    settings.REDIS_BREAKER_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(redisbreaker.time, "monotonic", lambda: now[0])
    redisbreaker.trip(URL, "test")

    assert redisbreaker.is_open(URL)
    now[0] += 5.1
    assert not redisbreaker.is_open(URL)
    assert redisbreaker.guarded(URL, "test", lambda: "answered", default=None) == "answered"


def test_other_errors_are_not_redis_being_away():
    def bug():
        raise KeyError("a bug, not an outage")

    try:
        redisbreaker.guarded(URL, "test", bug, default=None)
    except KeyError:
        pass
    else:
        raise AssertionError("a programming error must not be swallowed as an outage")
    assert not redisbreaker.is_open(URL)


def test_an_error_redis_answered_with_does_not_open_the_breaker():
    def oom():
        raise redis.ResponseError("OOM command not allowed when used memory > 'maxmemory'.")

    assert redisbreaker.guarded(URL, "test", oom, default="fallback") == "fallback"
    assert not redisbreaker.is_open(URL)  # it answered at once: there is no wait to save


def test_a_publish_error_caused_by_a_timeout_counts_as_redis_away():
    from kombu.exceptions import BatchPublishError

    try:
        try:
            raise redis.TimeoutError("Timeout reading from socket")
        except redis.TimeoutError as exc:
            raise BatchPublishError("Redis publish batch failed; delivery is uncertain") from exc
    except BatchPublishError as wrapped:
        assert redisbreaker.did_not_answer(wrapped)
    assert not redisbreaker.did_not_answer(BatchPublishError("OOM"))
