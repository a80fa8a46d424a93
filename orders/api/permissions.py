from rest_framework.permissions import BasePermission

from orders import selectors


class IsCustomer(BasePermission):
    """The user is signed in and has a Customer profile (staff accounts usually have none)."""

    message = (
        "This account has no customer profile, so it cannot order through the API. "
        "Register a customer account at /api/auth/register/."
    )

    def has_permission(self, request, view) -> bool:
        customer = selectors.customer_for_user(user=request.user)
        request.customer = customer
        return customer is not None
