import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from analytics.models import OrderFact
from eventbus.models import OutboxEvent
from integrations.models import InboundCloudEvent
from kitchen.models import StockMovement
from pizzeria.admin_mixins import ReadOnlyAdminMixin


@pytest.mark.parametrize(
    ("model", "deletable"),
    [(OrderFact, True), (InboundCloudEvent, True), (StockMovement, False), (OutboxEvent, False)],
)
def test_read_only_admins_refuse_add_and_change_and_delete_only_where_said(model, deletable, db):
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.create_superuser(username="root", password="x")
    assert isinstance(model_admin, ReadOnlyAdminMixin)
    assert not model_admin.has_add_permission(request) and not model_admin.has_change_permission(request)
    assert model_admin.has_view_permission(request)
    assert model_admin.has_delete_permission(request) is deletable
