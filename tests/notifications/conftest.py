import pytest

from tests.notifications.stub import ProviderStub

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "test-auth-token"
TWILIO_FROM = "+15005550006"


@pytest.fixture(scope="session")
def provider_stub():
    stub = ProviderStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def stub(provider_stub):
    provider_stub.reset()
    yield provider_stub
    provider_stub.reset()


@pytest.fixture
def no_providers(settings):
    """No credentials: the console channel records and logs."""
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.SENDGRID_API_KEY = ""
    settings.PUBLIC_BASE_URL = ""
    return settings


@pytest.fixture
def providers(settings, stub):
    """Twilio and SendGrid SDKs pointed at the local fault stub."""
    settings.TWILIO_ACCOUNT_SID = TWILIO_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.TWILIO_FROM_NUMBER = TWILIO_FROM
    settings.TWILIO_API_BASE_URL = stub.url
    settings.SENDGRID_API_KEY = "SG.test-key"
    settings.SENDGRID_API_HOST = stub.url
    settings.PUBLIC_BASE_URL = ""
    settings.NOTIFY_HTTP_TIMEOUT = 0.5
    stub.timeout_delay = 1.5
    return stub
