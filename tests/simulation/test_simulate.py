"""`manage.py simulate` against a live server and a real worker: every order ends delivered, every
delivery succeeds, and with failing providers every notification is still sent exactly once."""

from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from eventbus.models import Delivery
from notifications.models import Notification
from orders.models import Order
from simulation.management.commands.simulate import Command
from simulation.runner import customers_needed
from tests.factories import make_menu

pytestmark = [pytest.mark.worker]


def simulate(live_server, **options):
    command = Command()
    call_command(command, base_url=live_server.url, minute=0.02, seed=7, timeout=120, **options)
    return command.last_summary


def test_twenty_orders_are_all_delivered_and_every_delivery_succeeds(worker, live_server):
    make_menu()

    summary = simulate(live_server, orders=20, rate=10)

    assert summary.finished and summary.placed == 20
    statuses = Counter(Order.objects.values_list("status", flat=True))
    assert statuses == {"delivered": 20}
    deliveries = Counter(Delivery.objects.values_list("status", flat=True))
    assert set(deliveries) == {"succeeded"} and deliveries["succeeded"] >= 20 * 6
    assert summary.deliveries["succeeded"] == deliveries["succeeded"]
    # paid online at once or in cash at the door: revenue for the dashboard
    assert not Order.objects.exclude(payment_status="paid").exists()
    # two confirmations per order at least, none lost (the console channel: no credentials here)
    assert Notification.objects.filter(template="order_confirmed").count() == 40
    assert set(Notification.objects.values_list("status", flat=True)) == {"logged"}


def test_with_failing_providers_every_notification_is_sent_exactly_once(worker, live_server):
    make_menu()

    summary = simulate(live_server, orders=20, rate=10, failure_rate=0.3)

    assert summary.finished
    assert summary.provider_failures > 0  # the stub did fail calls (30 % of ~80)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    notifications = list(Notification.objects.values_list("status", "provider_message_id"))
    assert {status for status, _ in notifications} == {"sent"}
    # each message the providers accepted belongs to exactly one notification, and the reverse
    accepted = Counter(summary.provider_message_ids)
    assert max(accepted.values()) == 1
    assert sorted(accepted) == sorted(message_id for _, message_id in notifications)
    assert Notification.objects.filter(template="order_confirmed").count() == 40


def test_late_provider_answers_send_each_sms_once_and_count_every_email_copy(worker, live_server):
    """Issue 23, item 5 end to end: a share of sends is accepted after the worker's timeout."""
    make_menu()

    summary = simulate(live_server, orders=20, rate=10, failure_rate=0.1, late_rate=0.2)

    assert summary.finished
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    rows = list(
        Notification.objects.values_list("channel", "provider", "provider_message_id", "unknown_outcomes")
    )
    assert {provider for _, provider, _, _ in rows} == {"twilio", "sendgrid"}, rows
    assert sum(unknown for *_, unknown in rows) > 0  # late answers did happen
    accepted = set(summary.provider_message_ids)
    held = {message_id for _, _, message_id, _ in rows}
    assert held <= accepted, held - accepted
    # every SMS Twilio took is a notification's: none went out twice
    sms = {m for c, _, m, _ in rows if c == "sms"}
    assert {m for m in accepted if m.startswith("SM")} == sms, {
        m for m in accepted if m.startswith("SM")
    } ^ sms
    # an e-mail copy nobody holds is one of the unknown outcomes the rows count
    assert len(accepted - held) <= sum(unknown for c, *_, unknown in rows if c == "email"), rows


@pytest.mark.django_db
@pytest.mark.parametrize(
    "options, message",
    [
        ({"orders": 0, "rate": 1}, "--orders must be at least 1"),
        ({"orders": 5, "rate": 1, "customers": 0}, "--customers must be at least 1"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate", **options)


@pytest.mark.django_db
def test_a_stack_that_is_not_running_is_a_clear_error(settings):
    with pytest.raises(CommandError, match="is the stack running"):
        call_command("simulate", orders=1, rate=1, base_url="http://127.0.0.1:9")


def test_enough_customers_to_stay_under_the_throttle(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"order_place": "30/min"}}
    assert customers_needed(5) == 12  # 300 orders a minute, 30 each, and a fifth spare
    assert customers_needed(0.1) == 3
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"order_place_user": "60/min"},
    }
    assert customers_needed(5) == 6
