from orders.admin import menu, orders  # noqa: F401  (registers the ModelAdmins)
