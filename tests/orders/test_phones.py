import pytest
from django.core.exceptions import ValidationError

from orders.phones import phone_normalize


def test_phone_is_normalised_to_e164():
    assert phone_normalize("+1 500-555-0006") == "+15005550006"
    with pytest.raises(ValidationError):
        phone_normalize("12345")
    with pytest.raises(ValidationError):
        phone_normalize("not a phone")
