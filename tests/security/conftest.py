"""Signed-in clients for the hostile-input tests."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import make_customer, make_menu, make_staff


@pytest.fixture
def customer_client():
    make_menu()
    customer = make_customer()
    token = Token.objects.create(user=customer.user)
    return Client(headers={"Authorization": f"Token {token.key}"}), customer


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(make_staff())
    return client
