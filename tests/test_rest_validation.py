"""The validator every REST answer in the fast tier goes through (tests/rest_validation.py) is as strict as
rest.json: it refuses what the spec refuses, allows null only where the spec (or a named hole) says so, and
refuses statuses the spec does not list for the operation."""

from __future__ import annotations

import json

import pytest

from tests.rest_spec_holes import HOLES, MISSING_STATUSES
from tests.rest_validation import _compiled, _response_pointer, _validator, errors, template


def test_a_wrong_answer_is_named_field_by_field():
    found = errors("GET", "/incidents/{id}", 200, json.dumps({"incident": {"id": 5, "status": "sleeping"}}).encode())
    assert any(e.startswith("incident/id:") for e in found), found
    assert any(e.startswith("incident/status:") for e in found), found


def test_null_only_where_the_spec_or_a_named_hole_allows_it():
    assert not errors("GET", "/incidents/{id}", 200, b'{"incident": {"resolved_at": null}}')  # a named hole
    assert errors("GET", "/incidents/{id}", 200, b'{"incident": {"title": null}}')  # nothing allows it


def test_a_status_the_spec_does_not_list_is_refused_unless_named():
    with pytest.raises(AssertionError, match="documents no 418"):
        errors("GET", "/incidents/{id}", 418, b"{}")
    assert ("GET", "/incidents/{id}/alerts", 404) in MISSING_STATUSES
    assert not errors("GET", "/incidents/{id}/alerts", 404, b'{"error": {"message": "Not Found", "code": 2100}}')


def test_every_hole_has_a_name_and_a_reason_and_names_are_unique():
    assert all(hole.name and len(hole.reason) > 20 for hole in HOLES)
    assert len({hole.name for hole in HOLES}) == len(HOLES)
    assert all(len(reason) > 20 for reason in MISSING_STATUSES.values())


def test_urls_map_to_the_spec_paths_of_the_routes_served():
    assert template("/api/incidents/Q1/alerts") == "/incidents/{id}/alerts"
    assert template("/api/services/P1/integrations/P2") == "/services/{id}/integrations/{integration_id}"
    assert template("/api/servers") is None  # the demo monitor's own API is not PagerDuty's


@pytest.mark.parametrize("body", [
    {"incident": {"id": 5}},  # a wrong type
    {"incident": {"status": "sleeping"}},  # outside an enum
    {"incident": {"title": None}},  # null the spec does not allow
    {"incident": {"assignments": [{"at": "2026-12-01T00:00:00Z", "assignee": {"id": 7}}]}},  # deep inside a list
    {"incident": {"service": {"id": "PX", "type": "bogus"}}},  # no branch of a reference fits
])
def test_the_compiled_check_refuses_what_the_reference_validator_refuses(body):
    """Answers the compiled check passes are not looked at again: it must be at least as strict."""
    pointer = _response_pointer("GET", "/incidents/{id}", 200)
    assert not _validator(pointer).is_valid(body)
    assert not _compiled(pointer).is_valid(body)
    assert errors("GET", "/incidents/{id}", 200, json.dumps(body).encode())
