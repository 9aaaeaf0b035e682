"""The signup API against its own OpenAPI schema: schemathesis generates valid and invalid bodies from
/api/v1/openapi.json and calls the app in-process (WSGI). Every answer must be documented, match its schema, and
never be a 500; a body the schema forbids must be refused with a 4xx."""

from typing import Any

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


# transaction=True: the WSGI handler closes the connection between requests (close_old_connections), which a
# test wrapped in one transaction would not survive; committed rows are flushed after the test.
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case: Any) -> None:
    # Every call comes from 127.0.0.1: the rate limit is tested elsewhere and would answer 429 to most of them.
    with override_settings(SIGNUP_RATE_LIMIT="100000/h", DRIP_KICK_ON_QUEUE=False):
        # Not "every schema-valid body is accepted": the schema gives types and lengths, the landing form's rules
        # are more (a deliverable address, a name without control characters or links), and a body that breaks
        # them is answered 422 with field errors, whose shape the other checks hold to the schema.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])
