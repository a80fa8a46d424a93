from decimal import Decimal

from orders import pricing


def test_unit_price_is_base_plus_toppings_times_multiplier_rounded_half_up():
    assert pricing.unit_price(
        base_price=Decimal("9.50"), topping_prices=[Decimal("1.25")], multiplier=Decimal("1.45")
    ) == Decimal("15.59")
    # 10.39 × 1.5 = 15.585 exactly: half-up, not banker's rounding
    assert pricing.unit_price(
        base_price=Decimal("10.39"), topping_prices=[], multiplier=Decimal("1.50")
    ) == Decimal("15.59")
    assert pricing.unit_price(
        base_price=Decimal("8.00"), topping_prices=[], multiplier=Decimal("0.80")
    ) == Decimal("6.40")
