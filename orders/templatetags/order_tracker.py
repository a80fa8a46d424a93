"""`{% tracker_url order_id %}`: the customer's tracker link, for message templates."""

from django import template

from orders.tracker.tokens import tracker_url as _tracker_url

register = template.Library()


@register.simple_tag
def tracker_url(order_id: int | str) -> str:
    return _tracker_url(order_id=int(order_id))
