"""The receiver printed in README.md ("Outgoing webhooks") is run as printed: it accepts what we send and refuses a
changed body, another secret, an old timestamp and a malformed header. (tests/webhooks/conftest.py's receiver checks
every delivery of these tests with it too.)"""

import time

from webhooks.signing import signature_header

from .conftest import readme_receiver_code, readme_verifier

SECRET = "whsec_readme"
BODY = b'{"id":"evt_1","type":"lead.confirmed","created":1,"data":{}}'


def test_the_snippet_is_ten_lines_of_python() -> None:
    lines = [line for line in readme_receiver_code().splitlines() if line.strip()]
    assert len(lines) <= 10


def test_it_accepts_our_signature_and_refuses_everything_else() -> None:
    ok = readme_verifier()
    header = signature_header(BODY, secret=SECRET)
    assert ok(BODY, header, SECRET)
    assert not ok(BODY.replace(b"evt_1", b"evt_2"), header, SECRET)
    assert not ok(BODY, header, "whsec_other")
    old = signature_header(BODY, secret=SECRET, timestamp=int(time.time()) - 301)
    assert not ok(BODY, old, SECRET)
    for garbage in ("", "t=abc,v1=00", "v1=" + header.split("v1=")[1], "nonsense"):
        assert not ok(BODY, garbage, SECRET)
