"""The helpers the apps share: actor names, the domain error base, the read-only admin."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from analytics.models import OrderFact
from eventbus.models import OutboxEvent
from integrations.models import InboundCloudEvent
from kitchen.errors import AtCapacity, KitchenError
from kitchen.models import StockMovement
from orders.errors import IllegalTransition, InvalidOrder, OrderError
from pizzeria.actors import actor_name
from pizzeria.admin_mixins import ReadOnlyAdminMixin
from pizzeria.errors import DomainError


def test_actor_name():
    User = get_user_model()
    assert actor_name(None) == "system"
    assert actor_name(None, nobody="kitchen") == "kitchen"
    assert actor_name(User(username="luigi")) == "luigi"
    assert actor_name(User(username="")) == "anonymous"
    assert actor_name("inventory", nobody="kitchen") == "inventory"


def test_order_and_kitchen_errors_share_one_base_that_shows_the_reason():
    assert issubclass(OrderError, DomainError) and issubclass(KitchenError, DomainError)
    for error in (IllegalTransition("Order 1 is cooking"), AtCapacity("Order 1 is cooking")):
        assert (str(error), error.message) == ("Order 1 is cooking", "Order 1 is cooking")
    invalid = InvalidOrder({"fulfilment": ["Choose one."]})
    assert str(invalid) == invalid.message == "fulfilment: Choose one."


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
