"""manage.py deadletters list|replay|discard."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from eventbus.models import Delivery
from tests.eventbus import rows
from tests.eventbus.probes import PROBE_A, PROBE_B

pytestmark = pytest.mark.django_db

ORDER_PLACED = "com.mariopizzeria.order.placed"


def run(*args) -> str:
    out = StringIO()
    call_command("deadletters", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def statuses() -> dict[int, str]:
    return dict(Delivery.objects.values_list("pk", "status"))


@pytest.fixture
def letters():
    return {
        "a": rows.dead(handler=PROBE_A, last_error="boom " * 40),
        "b": rows.dead(handler=PROBE_B, error_class="WorkerLost"),
        "placed": rows.dead(event=rows.outbox_event(event_type=ORDER_PLACED)),
        "ok": rows.delivery(status=Delivery.Status.SUCCEEDED),
    }


def test_list_prints_a_table_of_dead_letters(letters):
    out = run("list")

    header, rule, *lines, summary = out.splitlines()
    assert header.split() == [
        "id",
        "handler",
        "event",
        "type",
        "attempts",
        "error",
        "class",
        "last",
        "error",
        "updated",
    ]
    assert set(rule) <= {"-", " "}
    assert len(lines) == 3 and summary == "3 dead deliveries"
    line_a = next(line for line in lines if line.startswith(f"{letters['a'].pk} "))
    assert PROBE_A in line_a and "PermanentError" in line_a and "4" in line_a.split()
    assert "boom boom" in line_a and line_a.count("boom") < 40  # truncated


def test_list_filters(letters):
    out = run("list", "--handler", PROBE_B)
    assert out.splitlines()[-1] == "1 dead deliveries" and PROBE_B in out

    out = run("list", "--event-type", ORDER_PLACED)
    assert out.splitlines()[-1] == "1 dead deliveries" and ORDER_PLACED in out


def test_list_limit_says_how_many_are_hidden(letters):
    assert run("list", "--limit", "2").splitlines()[-1] == "2 of 3 dead deliveries"


def test_replay_by_id(letters, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        out = run("replay", "--id", str(letters["a"].pk), "--id", str(letters["b"].pk))

    assert "2 dead deliveries replayed" in out
    s = statuses()
    assert (s[letters["a"].pk], s[letters["b"].pk]) == ("pending", "pending")
    assert s[letters["placed"].pk] == "dead"


def test_replay_by_handler_and_event_type(letters, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run("replay", "--handler", PROBE_A, "--event-type", ORDER_PLACED)

    s = statuses()
    assert s[letters["placed"].pk] == "pending"
    assert s[letters["a"].pk] == s[letters["b"].pk] == "dead"


def test_bulk_replay_in_chunks_publishes_each_chunk(monkeypatch, django_capture_on_commit_callbacks):
    from ops.management.commands import deadletters

    monkeypatch.setattr(deadletters, "CHUNK", 2)
    for _ in range(5):
        rows.dead(attempts=1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        out = run("replay", "--all")

    assert "5 dead deliveries replayed" in out
    assert set(statuses().values()) == {"pending"}
    assert len(callbacks) == 3  # one publish per chunk


def test_replay_shows_a_progress_bar(django_capture_on_commit_callbacks, capsys):
    rows.dead()

    with django_capture_on_commit_callbacks(execute=False):
        call_command("deadletters", "replay", "--all", stdout=StringIO())

    assert "1/1" in capsys.readouterr().err


def test_discard_with_filter(letters):
    out = run("discard", "--handler", PROBE_B)

    assert "1 dead deliveries discarded" in out
    s = statuses()
    assert s[letters["b"].pk] == "discarded"
    assert s[letters["a"].pk] == s[letters["placed"].pk] == "dead"


def test_discard_all_leaves_other_statuses_alone(letters):
    run("discard", "--all")

    s = statuses()
    assert [s[letters[k].pk] for k in ("a", "b", "placed")] == ["discarded"] * 3
    assert s[letters["ok"].pk] == "succeeded"


@pytest.mark.parametrize("action", ["replay", "discard"])
def test_refuses_without_a_selector(letters, action):
    with pytest.raises(CommandError, match="--all"):
        run(action)

    assert set(statuses().values()) == {"dead", "succeeded"}


def test_replay_of_an_id_that_is_not_dead_does_nothing(letters):
    out = run("replay", "--id", str(letters["ok"].pk))

    assert "0 dead deliveries replayed" in out
    assert statuses()[letters["ok"].pk] == "succeeded"
