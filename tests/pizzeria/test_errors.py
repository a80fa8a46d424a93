from kitchen.errors import AtCapacity, KitchenError
from orders.errors import IllegalTransition, InvalidOrder, OrderError
from pizzeria.errors import DomainError


def test_order_and_kitchen_errors_share_one_base_that_shows_the_reason():
    assert issubclass(OrderError, DomainError) and issubclass(KitchenError, DomainError)
    for error in (IllegalTransition("Order 1 is cooking"), AtCapacity("Order 1 is cooking")):
        assert (str(error), error.message) == ("Order 1 is cooking", "Order 1 is cooking")
    invalid = InvalidOrder({"fulfilment": ["Choose one."]})
    assert str(invalid) == invalid.message == "fulfilment: Choose one."
