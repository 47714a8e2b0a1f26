"""Bad input on the REST API's reads: schemathesis over every GET operation the sandbox serves from PagerDuty's
rest.json, and per GET endpoint any mix of its documented query parameters (and `include[]` values) with any
values: never a 5xx, every 4xx in PagerDuty's format, a refused parameter never answered 200.
(Its changes: test_fuzz_rest_changes.py; pages and forms: test_fuzz_pages_and_forms.py.)"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_pagerduty.domain import rest_params
from tests.conftest import REST_HEADERS
from tests.fake_pagerduty.fuzzing import (
    FUZZ,
    check_rest_answer,
    client,
    rest_operations,
    send_schemathesis_cases,
)
from tests.fake_pagerduty.test_rest_params import served
from tests.rest_spec import enum

__all__ = ["client"]  # the module's sandbox (a fixture)


@pytest.mark.parametrize("operation", list(rest_operations(reads=True)))
def test_rest_api_schemathesis(client, operation):
    """Positive and negative cases, with the account's key; path ids random or real."""
    send_schemathesis_cases(client, operation)


_values = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.sampled_from(["", "true", "false", "0", "-1", "1", "99999999999999999999999", "2026-01-01T00:00:00Z",
                     "2026-13-45", "UTC", "Europe/Paris", "../../etc/passwd", "Mars/Olympus", "name:desc",
                     "created_at:asc", "bogus"]))


def _query(method: str, path: str):
    """Any mix of the parameters rest.json documents for the endpoint (and a few it does not), each once or
    more, with values of their own enums or anything at all."""
    row = rest_params.endpoint(method, path)
    names = [*row.honoured, *row.refused, "include[]", "colour"]

    def values(name: str):
        own = enum(method, path, name) or (row.include if name == "include[]" else ())
        return st.one_of(st.sampled_from(own), _values) if own else _values

    pairs = st.sampled_from(names).flatmap(lambda name: values(name).map(lambda value: (name, value)))
    return st.lists(pairs, max_size=6)


@pytest.mark.parametrize(("method", "path"), [key for key in served() if key[0] == "GET"],
                         ids=lambda v: str(v))
def test_every_documented_query_parameter_with_any_value(client, method, path):
    """Never a 5xx; a 4xx in PagerDuty's format; and a parameter the sandbox refuses is never answered 200."""
    row = rest_params.endpoint(method, path)
    url = "/api" + path.replace("{integration_id}", "PINTG00").replace(
        "{id}", client.incident_id if path.startswith("/incidents") else "PWEBS00")

    @settings(FUZZ, max_examples=40)
    @given(query=_query(method, path))
    def run(query):
        answer = client.request(method, url, params=query, headers=REST_HEADERS)
        check_rest_answer(answer)
        sent = {name if name in row.documented else name + "[]" for name, _ in query}
        if answer.status_code == 200:
            assert not sent & set(row.refused), (query, answer.text[:200])

    run()
