"""Dead letters grouped by cause; one group replayed or discarded from the command and the screen."""

import io

import pytest
from django.core.management import CommandError, call_command

from eventbus.models import Delivery
from ops.failures import failure_groups, normalise
from tests.eventbus import rows
from tests.factories import make_role_user

pytestmark = pytest.mark.django_db

TIMEOUT = "notifications.errors.ProviderTimeout"
REFUSED = "notifications.errors.ProviderRefused"


def test_normalise_strips_ids_numbers_and_timestamps_but_keeps_the_words():
    a = normalise(
        "Timeout after 8.0s for order 4711 (event 0b6e1a8c-55a2-4f0e-9a3b-2f1d7c9e8a10) at 2026-11-29T03:41:07Z"
    )
    b = normalise(
        "Timeout  after 12.5s for order 93 (event 7d1e2f3a-0000-4b5c-8d9e-aabbccddeeff) at 2026-11-30 11:02:59"
    )
    assert a == b == "Timeout after <n>s for order <n> (event <uuid>) at <time>"
    assert (
        normalise("HTTP 401 from sendgrid: key deadbeef1234 revoked")
        == "HTTP <n> from sendgrid: key <hex> revoked"
    )
    assert normalise("Connection refused") != normalise("Connection reset")


def _dead(handler: str, error_class: str, message: str) -> Delivery:
    return rows.dead(handler=handler, error_class=error_class, last_error=message)


@pytest.fixture
def two_causes():
    timeouts = [
        _dead("notifications.sms", TIMEOUT, f"Twilio timed out after {8 + i}.0s for order {100 + i}")
        for i in range(3)
    ]
    refused = [
        _dead("notifications.sms", REFUSED, f"HTTP 400: number +1500555{i:04d} is not mobile")
        for i in range(2)
    ]
    other_handler = _dead("notifications.email", TIMEOUT, "Twilio timed out after 8.0s for order 7")
    return timeouts, refused, other_handler


def test_groups_count_each_cause_once_with_first_and_last_seen_and_an_example(two_causes):
    timeouts, refused, other = two_causes

    groups = failure_groups()

    assert [(g.handler, g.error_class, g.count) for g in groups] == [
        ("notifications.sms", TIMEOUT, 3),
        ("notifications.sms", REFUSED, 2),
        ("notifications.email", TIMEOUT, 1),
    ]
    first = groups[0]
    assert sorted(first.delivery_ids) == sorted(d.pk for d in timeouts)
    assert first.first_seen <= first.last_seen
    assert first.example_id == timeouts[-1].pk
    assert "Traceback" in first.traceback
    assert len({g.id for g in groups}) == 3


def test_command_lists_groups_and_replays_only_the_chosen_one(two_causes):
    timeouts, refused, other = two_causes
    out = io.StringIO()
    call_command("deadletters", "groups", stdout=out)
    listing = out.getvalue()
    assert "3 failure groups, 6 dead deliveries" in listing
    group = failure_groups()[0]
    assert group.id in listing

    out = io.StringIO()
    call_command("deadletters", "replay", "--group", group.id, "--no-progress", stdout=out)

    assert "3 dead deliveries replayed" in out.getvalue()
    assert set(Delivery.objects.filter(pk__in=[d.pk for d in timeouts]).values_list("status", flat=True)) == {
        "pending"
    }
    assert set(
        Delivery.objects.filter(pk__in=[d.pk for d in refused + [other]]).values_list("status", flat=True)
    ) == {"dead"}


def test_command_refuses_an_unknown_group():
    with pytest.raises(CommandError, match="No failure group"):
        call_command("deadletters", "replay", "--group", "0123456789ab")


def test_screen_discards_a_group_for_a_manager_and_refuses_a_cook(client, two_causes):
    timeouts, refused, other = two_causes
    group = next(g for g in failure_groups() if g.error_class == REFUSED)
    url = f"/admin/ops/groups/{group.id}/discard/"

    client.force_login(make_role_user("cook"))
    assert client.post(url).status_code in (302, 403)  # a cook: not even the screen
    assert Delivery.objects.filter(pk__in=[d.pk for d in refused], status="dead").count() == 2

    client.force_login(make_role_user("manager"))
    response = client.post(url)
    assert response.status_code == 302
    assert set(Delivery.objects.filter(pk__in=[d.pk for d in refused]).values_list("status", flat=True)) == {
        "discarded"
    }
    assert Delivery.objects.filter(pk__in=[d.pk for d in timeouts], status="dead").count() == 3

    again = client.post(url, follow=True)  # the group is gone now: a message, not an error
    assert again.status_code == 200
    assert "no dead letters any more" in again.content.decode()


def test_group_urls_refuse_bad_input_without_a_500(client):
    client.force_login(make_role_user("manager"))
    assert client.post("/admin/ops/groups/not-a-group/replay/").status_code == 404
    assert client.post("/admin/ops/groups/0123456789ab/explode/").status_code == 404
    assert client.get("/admin/ops/groups/0123456789ab/replay/").status_code == 405
