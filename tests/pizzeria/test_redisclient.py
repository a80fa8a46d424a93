"""One Redis client per URL and decoding, for every product user."""

import ast

from pizzeria.redisclient import redis_client
from tests.sourcecode import product_modules


def test_one_client_per_url_and_decoding():
    a = redis_client("redis://127.0.0.1:6379/14")

    assert redis_client("redis://127.0.0.1:6379/14") is a
    assert redis_client("redis://127.0.0.1:6379/15") is not a
    assert redis_client("redis://127.0.0.1:6379/14", decode_responses=True) is not a


def test_the_client_connects_to_the_url_it_was_asked_for_with_short_timeouts():
    client = redis_client("redis://127.0.0.1:6379/14", decode_responses=True)
    kwargs = client.connection_pool.connection_kwargs

    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.1", 6379, 14)
    assert kwargs["decode_responses"] is True
    assert kwargs["socket_connect_timeout"] == 0.5 and kwargs["socket_timeout"] == 1.0


def test_product_code_makes_no_redis_client_of_its_own():
    made = [
        (where, node.lineno)
        for where, tree in product_modules()
        if where != "pizzeria/redisclient.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and ast.unparse(node.func).split(".")[-1] in ("Redis", "StrictRedis", "from_url")
    ]

    assert made == []
