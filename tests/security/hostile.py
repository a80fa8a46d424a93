"""Hypothesis strategies for hostile input, and the one assertion every hostile request shares.

What schemathesis never generates: NUL, lone surrogates (they reach Python through a JSON escape
such as "\\ud800", since UTF-8 cannot carry them), 4-byte characters, right-to-left overrides,
100 k-character strings, ids past 2**63, and JSON number edge values (NaN, 1e309, -0, 2**64).
"""

from __future__ import annotations

import json
import urllib.parse

from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Bounded: the whole suite should cost tens of seconds, not minutes (the lead runs it in make test).
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces, CI is stable
    database=None,  # nothing to keep between runs when the examples are fixed
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
# For tests whose one example sends many requests (every changelist, every dashboard page).
FUZZ_FEW = settings(FUZZ, max_examples=8)

NASTY_CHARS = [
    "\x00",
    "\ud800",
    "\udfff",
    "\U0001f355",
    "\U0010ffff",
    "\u202e",
    "\u200f",
    "\ufeff",
    "\r\n",
    "%00",
    "\\",
    "'",
    '"',
    "<",
    "\x7f",
    "\u0085",
    "\u2028",
]
HUGE = "x" * 100_000
BIG_INTS = [2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30]

hostile_text = st.one_of(
    st.sampled_from(NASTY_CHARS + [HUGE, "a\ud800", "\ud800" * 3, "\u202eadmin", "0" * 400]),
    st.lists(st.sampled_from(NASTY_CHARS + ["a", "1", " ", "é"]), min_size=1, max_size=12).map("".join),
    st.text(min_size=0, max_size=40),
)
# Header values travel as latin-1 through WSGI: what a client can put there at all.
hostile_header = st.one_of(
    st.sampled_from(["\x00", "a\x00b", "\x7f", "\xff\xfe", " " * 300, "x" * 8000, "\t", "é", "1" * 40]),
    st.text(
        alphabet=st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"), max_size=30
    ),
)
big_ids = st.sampled_from(BIG_INTS) | st.integers(min_value=-(2**70), max_value=2**70)
# Raw JSON value texts (not Python values): "NaN", "1e309" and "-0" only exist as text.
JSON_EDGE = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",
    "-1e309",
    "-0",
    "-0.0",
    str(2**64),
    str(-(2**64)),
    "1e-400",
    "[" * 300 + "]" * 300,
    '{"a":' * 300 + "1" + "}" * 300,
    "null",
    "true",
    "[]",
    "{}",
]
json_value_text = st.one_of(
    st.sampled_from(JSON_EDGE),
    hostile_text.map(json.dumps),  # ensure_ascii: a lone surrogate becomes the escape "\ud800"
    big_ids.map(str),
)


def json_object(fields: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    """A JSON object text whose named fields are raw JSON value texts, some hostile."""

    def build(values: dict[str, str]) -> str:
        return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in values.items()) + "}"

    return st.fixed_dictionaries({}, optional={k: v | json_value_text for k, v in fields.items()}).map(build)


def assert_refused_cleanly(response, before: dict, after: dict, *, what: str) -> None:
    """Never a 5xx; a refused request (4xx) changed nothing stored."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:300]!r}"
    if response.status_code >= 400:
        assert before == after, f"{what}: refused with {response.status_code} but rows changed"


def snapshot() -> dict:
    """What a refused request must not change: row counts and every order's state."""
    from django.contrib.auth import get_user_model

    from eventbus.models import Delivery, OutboxEvent
    from integrations.models import InboundCloudEvent
    from notifications.models import Notification
    from orders.models import Customer, Order

    counts = {
        m.__name__: m.objects.count()
        for m in (get_user_model(), Customer, Order, OutboxEvent, Delivery, Notification, InboundCloudEvent)
    }
    orders = list(Order.objects.order_by("pk").values_list("pk", "status", "payment_status", "notes"))
    return {"counts": counts, "orders": orders}


def quoted(text: str) -> str:
    """Percent-encode any text for a URL, lone surrogates included (as the bytes a client could send)."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


def query(params: dict[str, str]) -> str:
    return "&".join(f"{quoted(k)}={quoted(v)}" for k, v in params.items())


def post_json(client: Client, path: str, body: str, **headers):
    return client.generic(
        "POST", path, body.encode("utf-8", "surrogatepass"), content_type="application/json", headers=headers
    )
