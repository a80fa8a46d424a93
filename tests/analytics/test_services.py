"""analytics.services on their own: fact rows set column by column."""

import pytest

from analytics.models import OrderFact
from analytics.services import order_fact_update

pytestmark = pytest.mark.django_db


def test_order_fact_update_sets_only_the_columns_given():
    # given: the first event to arrive creates the row
    order_fact_update(order_id=7, fulfilment="pickup", item_count=2)
    # when: a later event sets other columns, one of them to NULL
    order_fact_update(order_id=7, cancel_reason="too slow", delivery_seconds=None)
    # then
    fact = OrderFact.objects.get(order_id=7)
    assert (fact.fulfilment, fact.item_count, fact.cancel_reason, fact.delivery_seconds) == (
        "pickup",
        2,
        "too slow",
        None,
    )
    assert OrderFact.objects.count() == 1


def test_order_fact_update_takes_only_the_fact_columns():
    with pytest.raises(TypeError):
        order_fact_update(order_id=7, colour="red")
    assert not OrderFact.objects.exists()


def test_order_fact_update_names_every_fact_column():
    import inspect

    params = set(inspect.signature(order_fact_update).parameters)
    columns = {f.name for f in OrderFact._meta.concrete_fields} - {"id"}
    assert params == columns
