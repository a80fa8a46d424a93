"""The ops screen in headless Chromium (Debian's): the notifications pool stopped, its backlog
grows and the screen says "no consumer"; the pool started, the backlog drains — no reload."""

from pathlib import Path

import pytest

from pizzeria.celery import QUEUES
from simulation.workerproc import queues_purge
from tests.browser import CHROMIUM
from tests.factories import make_customer, make_order, make_role_user
from tests.kitchen.test_views_browser import PASSWORD
from tests.worker import make_worker

TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"
    ),
]

BACKLOG = 'tr[data-queue="notifications"] td.backlog'
CONSUMERS = 'tr[data-queue="notifications"] td.consumers'


def backlog(page) -> int:
    return int(page.locator(BACKLOG).inner_text())


def wait_backlog(page, condition: str) -> None:
    page.wait_for_function(
        f"() => {{ const c = document.querySelector('{BACKLOG}'); const n = c && parseInt(c.textContent, 10); return {condition}; }}"
    )


@pytest.mark.django_db(transaction=True)
def test_the_screen_shows_a_stopped_pool_falling_behind_and_catching_up(browser, live_server, settings):
    settings.OPS_REFRESH_SECONDS = 1
    queues_purge()
    others = make_worker(queues=tuple(q for q in QUEUES if q != "notifications")).start()
    notifications = None
    context = browser.new_context()
    try:
        make_role_user("manager", password=PASSWORD)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{live_server.url}/admin/ops/")
        page.fill("#id_username", "manager")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/ops/")

        customer = make_customer()
        for _ in range(2):
            make_order(customer=customer)
        wait_backlog(page, "n >= 2")
        assert page.locator(CONSUMERS).inner_text() == "no consumer"
        assert "Queue notifications: no consumer" in page.locator("#ops-warnings").inner_text()
        first = backlog(page)

        for _ in range(2):
            make_order(customer=customer)
        wait_backlog(page, f"n > {first}")  # growing, seen without a reload

        notifications = make_worker(queues=("notifications",), beat=False).start()
        wait_backlog(page, "n === 0")
        page.wait_for_function(
            f"() => document.querySelector('{CONSUMERS}').textContent.trim() !== 'no consumer'"
        )
        # the workers table (inspect, cached a few seconds) lists the new node with its queue
        page.wait_for_function(
            "() => document.querySelector('#ops-workers').textContent.includes('notifications')"
        )
    finally:
        context.close()  # no refresh may reach the live server after the test
        others.stop()
        if notifications is not None:
            notifications.stop()
