"""Kitchen admin: saving an ingredient never overwrites stock that orders moved meanwhile."""

from decimal import Decimal

import pytest
from django.urls import reverse

from kitchen.models import Ingredient
from pizzeria.admin_mixins import ConcurrencySafeAdmin
from tests.factories import make_staff
from tests.kitchen.conftest import make_ingredient

pytestmark = pytest.mark.django_db


def _form_data(page) -> dict:
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(n): management[n].value() for n in management.fields})
    return {k: ("" if v is None else v) for k, v in data.items()}


def test_threshold_edit_keeps_stock_consumed_during_the_save(client, monkeypatch):
    client.force_login(make_staff(username="boss"))
    flour = make_ingredient("flour", on_hand="1000", threshold="100")
    url = reverse("admin:kitchen_ingredient_change", args=[flour.pk])
    data = {**_form_data(client.get(url)), "minimum_threshold": "200"}

    # an order consumes 300 g after the admin loaded the row and before it writes it
    real_save = ConcurrencySafeAdmin.save_model

    def save_racing_an_order(self, request, obj, form, change):
        Ingredient.objects.filter(pk=obj.pk).update(quantity_on_hand=Decimal("700"))
        return real_save(self, request, obj, form, change)

    monkeypatch.setattr(ConcurrencySafeAdmin, "save_model", save_racing_an_order)
    response = client.post(url, data)

    assert response.status_code == 302, response.content[:2000]
    flour.refresh_from_db()
    assert flour.minimum_threshold == Decimal("200")
    assert flour.quantity_on_hand == Decimal("700")  # the consumption stands


def test_stale_page_is_refused_when_the_ingredient_changed_meanwhile(client):
    client.force_login(make_staff(username="boss"))
    flour = make_ingredient("flour", on_hand="1000", threshold="100")
    url = reverse("admin:kitchen_ingredient_change", args=[flour.pk])
    data = {**_form_data(client.get(url)), "minimum_threshold": "200"}
    Ingredient.objects.filter(pk=flour.pk).update(version=flour.version + 1)  # e.g. an InventoryLow

    response = client.post(url, data)

    assert response.status_code == 200 and b"changed while you were editing it" in response.content
    flour.refresh_from_db()
    assert flour.minimum_threshold == Decimal("100")


def test_ticket_admin_start_respects_capacity(client, kitchen_menu, settings):
    from kitchen.models import KitchenTicket
    from tests.capture import capture_events
    from tests.factories import make_order
    from tests.kitchen.conftest import KITCHEN_HANDLERS, one_margherita

    settings.KITCHEN_CAPACITY = 1
    with capture_events(only=KITCHEN_HANDLERS):
        orders = [make_order(items=one_margherita(kitchen_menu)) for _ in range(2)]
    queued = KitchenTicket.objects.get(order_id=orders[1].pk)
    assert queued.status == "queued"
    client.force_login(make_staff(username="boss"))

    response = client.post(
        "/admin/kitchen/kitchenticket/", {"action": "start", "_selected_action": [queued.pk]}, follow=True
    )

    assert any("capacity" in str(m) for m in response.context["messages"])
    assert KitchenTicket.objects.filter(status="cooking").count() == 1
    queued.refresh_from_db()
    assert queued.status == "queued"
