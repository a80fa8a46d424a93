import pytest

from tests.integrations.receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def receiver2():
    r = Receiver()
    yield r
    r.close()
