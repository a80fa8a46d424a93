from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from orders import selectors

if TYPE_CHECKING:
    from rest_framework.views import APIView

    from orders.models import Customer


class CustomerRequest(Request):
    """For type checking only: a request IsCustomer let through carries the caller's Customer."""

    customer: Customer


class IsCustomer(BasePermission):
    """The user is signed in and has a Customer profile (staff accounts usually have none)."""

    message = (
        "This account has no customer profile, so it cannot order through the API. "
        "Register a customer account at /api/auth/register/."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        customer = selectors.customer_for_user(user=request.user)
        request.customer = customer  # type: ignore[attr-defined]  # read as CustomerRequest.customer
        return customer is not None
