"""Migration 0004: deliveries of handlers that no longer exist are discarded (and logged) on upgrade."""

from __future__ import annotations

import importlib
import logging

import pytest
from django.apps import apps
from django.db import connection

from eventbus.models import Delivery
from integrations.models import HANDLER_PREFIX
from tests.eventbus import rows
from tests.testapp.handlers import PROBE_A

pytestmark = pytest.mark.django_db

migration = importlib.import_module("eventbus.migrations.0004_discard_orphan_deliveries")
OLD = "integrations.webhooks.OrderPlaced"  # a per-type webhook handler of an earlier release


def test_open_and_dead_deliveries_of_a_removed_handler_are_discarded_and_logged(caplog):
    # given an upgraded database: deliveries of the old per-type webhook handler in every state
    pending, retrying, dead = (rows.delivery(handler=OLD, status=s) for s in ("pending", "retrying", "dead"))
    running = rows.delivery(handler=OLD, status="running")
    done = rows.delivery(handler=OLD, status="succeeded")
    # and deliveries of handlers that exist: a registered one and a family member
    alive = rows.delivery(handler=PROBE_A)
    member = rows.delivery(handler=f"{HANDLER_PREFIX}12345")

    with caplog.at_level(logging.WARNING, logger="eventbus.migrations"):
        discarded = migration.discard_orphans(apps, connection.schema_editor())

    assert discarded == {OLD: 3}
    status = dict(Delivery.objects.values_list("pk", "status"))
    assert [status[d.pk] for d in (pending, retrying, dead)] == ["discarded"] * 3
    assert Delivery.objects.get(pk=dead.pk).finished_at is not None
    assert "no handler named" in Delivery.objects.get(pk=pending.pk).last_error
    # a running one may be held by an old worker mid-upgrade; history and live handlers stay as they were
    assert (status[running.pk], status[done.pk], status[alive.pk], status[member.pk]) == (
        "running",
        "succeeded",
        "pending",
        "pending",
    )
    assert f"Discarded 3 deliveries of {OLD}" in caplog.text


def test_the_migration_is_part_of_the_schema_history():
    from django.db.migrations.loader import MigrationLoader

    assert ("eventbus", "0004_discard_orphan_deliveries") in MigrationLoader(connection).applied_migrations
