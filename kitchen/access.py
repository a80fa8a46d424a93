"""Who may use the displays: each page and button checks the permission of its action.

The kitchen board is for whoever may see tickets, its buttons for whoever may cook; the
dispatch board and its buttons for whoever may dispatch (see the role matrix in docs/security.md).
"""

from __future__ import annotations

from pizzeria.security.permissions import permission_required

VIEW_TICKETS = "kitchen.view_kitchenticket"
COOK = "orders.cook_order"
DISPATCH = "orders.dispatch_order"

kitchen_board_required = permission_required(
    VIEW_TICKETS, message="The kitchen display is for kitchen staff."
)
cook_required = permission_required(COOK, message="Only kitchen staff start and finish tickets.")
dispatch_required = permission_required(DISPATCH, message="The dispatch display is for drivers and managers.")
# The live stream feeds both displays.
display_required = permission_required(
    VIEW_TICKETS, DISPATCH, message="The displays are for kitchen staff and drivers."
)
