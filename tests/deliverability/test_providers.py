"""Mailbox providers: consumer domains by name, custom domains by MX host, looked up once and only when asked to."""

from typing import Any

import pytest

from emails.deliverability.models import MailboxDomain
from emails.deliverability.providers import provider_of_mx, providers_for
from tests.deliverability.dns_server import LocalDns, unanswered_address

pytestmark = pytest.mark.django_db


def test_consumer_and_reserved_domains_never_ask_dns(local_dns: LocalDns) -> None:
    found = providers_for(["gmail.com", "yahoo.co.uk", "hotmail.com", "icloud.com", "aol.com", "example.com",
                           "news.example.org", "x.test", ""], resolve=True)
    assert found == {"gmail.com": "gmail", "yahoo.co.uk": "yahoo", "hotmail.com": "microsoft", "icloud.com": "apple",
                     "aol.com": "yahoo", "example.com": "other", "news.example.org": "other", "x.test": "other",
                     "": "other"}
    assert local_dns.resolver.queries == []


@pytest.mark.parametrize(("mx", "provider"), [
    ("aspmx.l.google.com", "gmail"), ("smtp.google.com", "gmail"),
    ("contoso-com.mail.protection.outlook.com", "microsoft"), ("mta7.am0.yahoodns.net", "yahoo"),
    ("mx01.mail.icloud.com", "apple"), ("mx.zoho.com", "other"), ("notgoogle.com", "other"),
])
def test_provider_of_an_mx_host(mx: str, provider: str) -> None:
    assert provider_of_mx(mx) == provider


def test_a_custom_domain_is_looked_up_once_and_a_failed_lookup_is_not_kept(local_dns: LocalDns,
                                                                           settings: Any) -> None:
    local_dns.zone("shop.biz. 300 IN MX 10 shop-biz.mail.protection.outlook.com.\n"
                   "shop.biz. 300 IN MX 20 backup.shop.biz.\n"
                   'nomail.biz. 300 IN TXT "v=spf1 -all"')
    assert providers_for(["shop.biz"], resolve=False) == {"shop.biz": "other"}  # a page never asks DNS
    assert local_dns.resolver.queries == []

    dns_server = settings.DNS_NAMESERVER
    settings.DNS_NAMESERVER, settings.DNS_TIMEOUT_SECONDS = unanswered_address(), 0.3
    assert providers_for(["shop.biz"], resolve=True) == {"shop.biz": "other"}
    assert not MailboxDomain.objects.exists()  # DNS did not answer: the next build asks again

    settings.DNS_NAMESERVER = dns_server
    assert providers_for(["shop.biz", "nomail.biz"], resolve=True) == {"shop.biz": "microsoft", "nomail.biz": "other"}
    assert MailboxDomain.objects.get(domain="shop.biz").mx_host == "shop-biz.mail.protection.outlook.com"
    asked = list(local_dns.resolver.queries)
    assert providers_for(["shop.biz", "nomail.biz"], resolve=True) == {"shop.biz": "microsoft", "nomail.biz": "other"}
    assert local_dns.resolver.queries == asked  # both kept, the domain without MX too
