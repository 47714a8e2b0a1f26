"""Bad input on the REST API's changes: schemathesis over every POST, PUT and DELETE operation the sandbox
serves from PagerDuty's rest.json (never a 5xx, every 4xx in PagerDuty's format), and requests without a valid
key answered 401 in PagerDuty's format. (Reads: test_fuzz_rest_reads.py; pages and forms:
test_fuzz_pages_and_forms.py.)"""

from __future__ import annotations

import pytest

from tests.fake_pagerduty.fuzzing import check_rest_answer, client, rest_operations, send_schemathesis_cases

__all__ = ["client"]  # the module's sandbox (a fixture)


@pytest.mark.parametrize("operation", list(rest_operations(reads=False)))
def test_rest_api_schemathesis(client, operation):
    """Positive and negative cases, with the account's key; path ids random or real."""
    send_schemathesis_cases(client, operation)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Token token=wrong"}, {"Authorization": "Bearer"},
                                     {"Authorization": "Token token=" + "x" * 10_000},
                                     {"Authorization": "Token token=sandbox-api-key-acme\u00e9".encode()}])
def test_rest_api_without_a_valid_key_is_401_in_pagerdutys_format(client, headers):
    for method, path in (("GET", "/api/incidents"), ("PUT", f"/api/incidents/{client.incident_id}"),
                         ("POST", "/api/services"), ("GET", "/api/webhook_subscriptions")):
        answer = client.request(method, path, headers=headers)
        assert answer.status_code == 401
        check_rest_answer(answer)
