from collections.abc import Iterator
from typing import Any

import pytest

from tests.deliverability.dns_server import LocalDns


@pytest.fixture(scope="session")
def _dns_server() -> Iterator[LocalDns]:
    with LocalDns() as server:
        yield server


@pytest.fixture
def local_dns(_dns_server: LocalDns, settings: Any) -> LocalDns:
    """The loopback DNS server, empty, and every lookup of the code under test pointed at it."""
    _dns_server.zone("")
    settings.DNS_NAMESERVER = _dns_server.address
    settings.DNS_TIMEOUT_SECONDS = 2.0
    return _dns_server


# The drip engine's fixtures (leads, the clock, a transactional step of our own), for the rates tests that send
# through the real dispatcher.
from tests.drip.conftest import _drip_settings, clock, make_lead, transactional_template  # noqa: E402,F401
