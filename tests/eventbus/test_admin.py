"""The bus admin: dead letters listed and filtered, replay and discard as logged actions."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from eventbus.models import DeadLetter, Delivery
from tests.eventbus import rows
from tests.eventbus.probes import PROBE_A, PROBE_B

pytestmark = pytest.mark.django_db

DEAD_LETTERS = reverse("admin:eventbus_deadletter_changelist")
DELIVERIES = reverse("admin:eventbus_delivery_changelist")


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("mario", "mario@example.com", "pw")
    client.force_login(user)
    return client


def listed(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def act(client, url, action, *deliveries):
    return client.post(
        url, {"action": action, "_selected_action": [d.pk for d in deliveries], "index": 0}, follow=True
    )


def test_dead_letter_changelist_lists_only_dead_deliveries(staff):
    dead = rows.dead()
    rows.delivery(status=Delivery.Status.SUCCEEDED)
    rows.delivery(status=Delivery.Status.RETRYING)

    response = staff.get(DEAD_LETTERS)

    assert response.status_code == 200
    assert listed(response) == {dead.pk}
    assert PROBE_A in response.content.decode()


def test_dead_letter_filters_by_handler_event_type_and_error_class(staff):
    a = rows.dead(handler=PROBE_A, error_class="PermanentError")
    b = rows.dead(handler=PROBE_B, error_class="WorkerLost")
    other_type = rows.dead(event=rows.outbox_event(event_type="com.mariopizzeria.order.placed"))

    assert listed(staff.get(DEAD_LETTERS, {"handler": PROBE_B})) == {b.pk}
    assert listed(staff.get(DEAD_LETTERS, {"last_error_class": "PermanentError"})) == {a.pk, other_type.pk}
    assert listed(staff.get(DEAD_LETTERS, {"event__type": "com.mariopizzeria.order.placed"})) == {
        other_type.pk
    }
    assert listed(staff.get(DEAD_LETTERS, {"q": str(a.pk)})) == {a.pk}
    assert listed(staff.get(DEAD_LETTERS, {"q": str(b.event_id)})) == {b.pk}


def test_delivery_changelist_filters_by_status(staff):
    dead = rows.dead()
    succeeded = rows.delivery(status=Delivery.Status.SUCCEEDED)

    assert listed(staff.get(DELIVERIES)) == {dead.pk, succeeded.pk}
    assert listed(staff.get(DELIVERIES, {"status": "succeeded"})) == {succeeded.pk}
    assert listed(staff.get(DELIVERIES, {"q": "no-such-thing"})) == set()


def test_delivery_page_shows_attempts_traceback_and_pretty_payload(staff):
    dead = rows.dead(attempts=2)

    response = staff.get(reverse("admin:eventbus_deadletter_change", args=[dead.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("PermanentError: it broke") == 2  # one traceback per attempt
    assert '<pre style="white-space: pre-wrap; margin: 0">{\n  &quot;aggregate_id&quot;' in html
    assert 'name="_save"' not in html  # read-only


def test_outbox_event_page_shows_payload_and_deliveries(staff):
    event = rows.outbox_event(behaviour="permanent")
    rows.delivery(event=event, handler=PROBE_B)

    changelist = staff.get(reverse("admin:eventbus_outboxevent_changelist"), {"q": str(event.event_id)})
    page = staff.get(reverse("admin:eventbus_outboxevent_change", args=[event.pk]))

    assert listed(changelist) == {event.pk}
    html = page.content.decode()
    assert "&quot;behaviour&quot;: &quot;permanent&quot;" in html
    assert PROBE_B in html


def test_replay_action_changes_status_and_logs(staff, django_capture_on_commit_callbacks):
    dead = rows.dead()

    with django_capture_on_commit_callbacks(execute=False):
        response = act(staff, DEAD_LETTERS, "replay", dead)

    dead.refresh_from_db()
    assert dead.status == Delivery.Status.PENDING and dead.attempts_before_replay == 4
    entry = LogEntry.objects.get()
    assert entry.action_flag == CHANGE and entry.object_id == str(dead.pk)
    assert entry.user.username == "mario" and "Replayed" in entry.get_change_message()
    assert [str(m) for m in response.context["messages"]] == ["1 deliveries replayed"]
    assert listed(response) == set()  # no longer a dead letter


def test_discard_action_changes_status_and_logs(staff):
    dead, other = rows.dead(), rows.dead()

    response = act(staff, DEAD_LETTERS, "discard", dead)

    dead.refresh_from_db()
    assert dead.status == Delivery.Status.DISCARDED
    assert Delivery.objects.get(pk=other.pk).status == Delivery.Status.DEAD
    assert list(LogEntry.objects.values_list("object_id", flat=True)) == [str(dead.pk)]
    assert "Discarded" in LogEntry.objects.get().get_change_message()
    assert listed(response) == {other.pk}
    assert [str(m) for m in response.context["messages"]] == ["1 deliveries discarded"]


def test_replay_from_the_delivery_page_skips_live_rows(staff, django_capture_on_commit_callbacks):
    discarded = rows.dead(status=Delivery.Status.DISCARDED)
    running = rows.delivery(status=Delivery.Status.RUNNING)

    with django_capture_on_commit_callbacks(execute=False):
        response = act(staff, DELIVERIES, "replay", discarded, running)

    assert Delivery.objects.get(pk=discarded.pk).status == Delivery.Status.PENDING
    assert Delivery.objects.get(pk=running.pk).status == Delivery.Status.RUNNING
    assert LogEntry.objects.count() == 1
    assert "1 skipped" in str(list(response.context["messages"])[0])


def test_nobody_adds_changes_or_deletes_rows(staff):
    dead = rows.dead()

    assert staff.get(reverse("admin:eventbus_delivery_add")).status_code == 403
    delete = reverse("admin:eventbus_delivery_delete", args=[dead.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    staff.post(reverse("admin:eventbus_delivery_change", args=[dead.pk]), {"status": "succeeded"})
    assert Delivery.objects.get(pk=dead.pk).status == Delivery.Status.DEAD
    assert act(staff, DEAD_LETTERS, "delete_selected", dead).status_code == 200
    assert Delivery.objects.filter(pk=dead.pk).exists()


def test_non_staff_user_is_refused(client, django_user_model):
    rows.dead()
    client.force_login(django_user_model.objects.create_user("luigi", password="pw"))

    response = client.get(DEAD_LETTERS)

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_view_only_staff_sees_dead_letters_but_cannot_act(client, django_user_model):
    dead = rows.dead()
    user = django_user_model.objects.create_user("peach", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_deadletter"))
    client.force_login(user)

    assert listed(client.get(DEAD_LETTERS)) == {dead.pk}
    act(client, DEAD_LETTERS, "replay", dead)

    assert DeadLetter.objects.get(pk=dead.pk).status == Delivery.Status.DEAD
    assert not LogEntry.objects.exists()
