from orders.models.customers import Customer
from orders.models.menu import Pizza, Size, Topping
from orders.models.order import Order, OrderItem

__all__ = ["Customer", "Order", "OrderItem", "Pizza", "Size", "Topping"]
