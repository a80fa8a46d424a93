"""Simulated customers: they register and order through the real HTTP API, like any client.

Each order carries an Idempotency-Key, so a request retried after a connection error or a 5xx
can never place the order twice; a 429 is waited out as its Retry-After asks.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
import uuid
from typing import Any

import requests

CANCEL_REASONS = ["Ordered twice by mistake", "Plans changed", "Waiting too long", "Wrong address"]
ADDRESSES = [
    "12 Via Roma, Springfield",
    "7 Elm Road, Springfield",
    "221B Baker Street, Springfield",
    "3 Harbour Lane, Springfield",
    "48 Market Square, Springfield",
]


class ApiError(RuntimeError):
    pass


@dataclasses.dataclass
class Customer:
    username: str
    token: str


class Api:
    """A small client of the pizzeria's API (one HTTP session per thread)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, attempts: int = 5) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self._local = threading.local()
        self.throttled = 0
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str = "",
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict]:
        headers = {**(headers or {}), **({"Authorization": f"Token {token}"} if token else {})}
        last = ""
        for attempt in range(self.attempts):
            try:
                response = self._session().request(
                    method, self.base_url + path, json=json, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.2 * 2**attempt)
                continue
            if response.status_code == 429:
                with self._lock:
                    self.throttled += 1
                time.sleep(float(response.headers.get("Retry-After") or 1))
                continue
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                time.sleep(0.2 * 2**attempt)
                continue
            body = response.json() if response.content else {}
            return response.status_code, body
        raise ApiError(f"{method} {path} failed after {self.attempts} attempts: {last}")

    def register(self, *, username: str, password: str, address: str) -> Customer:
        status, body = self.call(
            "POST",
            "/api/auth/register/",
            json={
                "username": username,
                "password": password,
                "email": f"{username}@simulated.example",
                "phone": "+15005550006",
                "default_address": address,
            },
        )
        if status != 201:
            raise ApiError(f"Registering {username}: HTTP {status} {body}")
        return Customer(username=username, token=body["token"])

    def menu(self) -> dict:
        status, body = self.call("GET", "/api/menu/")
        if status != 200 or not body.get("pizzas"):
            raise ApiError(f"The menu is empty (HTTP {status}); run `manage.py seed` first")
        return body

    def place(self, *, customer: Customer, order: dict) -> dict:
        status, body = self.call(
            "POST",
            "/api/orders/",
            token=customer.token,
            json=order,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        if status != 201:
            raise ApiError(f"Placing an order: HTTP {status} {body}")
        return body

    def cancel(self, *, customer: Customer, order_id: int, reason: str) -> bool:
        status, _ = self.call(
            "POST", f"/api/orders/{order_id}/cancel/", token=customer.token, json={"reason": reason}
        )
        return status == 200  # 409: the kitchen started it already


def random_order(rng: random.Random, menu: dict) -> dict:
    """One to three lines from the menu; three orders in four are delivered."""
    lines = []
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        toppings = rng.sample([t["code"] for t in menu["toppings"]], k=rng.choice([0, 0, 1, 2]))
        lines.append(
            {
                "pizza": rng.choice(menu["pizzas"])["id"],
                "size": rng.choice(menu["sizes"])["code"],
                "toppings": toppings,
                "quantity": rng.choice([1, 1, 1, 2]),
            }
        )
    if rng.random() < 0.75:
        return {"items": lines, "fulfilment": "delivery", "delivery_address": rng.choice(ADDRESSES)}
    return {"items": lines, "fulfilment": "pickup"}
