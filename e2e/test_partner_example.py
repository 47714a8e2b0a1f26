"""docs/example_partner_test.py, the file partners copy, run here through the installed pytest plugin."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "example_partner_test.py"

pytestmark = pytest.mark.e2e

_example = runpy.run_path(str(EXAMPLE))
PagerDutyEvents = _example["PagerDutyEvents"]
test_trigger_opens_an_incident = _example["test_trigger_opens_an_incident"]
test_a_429_is_retried_and_the_incident_still_opens = _example["test_a_429_is_retried_and_the_incident_still_opens"]


def test_the_example_is_all_collected():
    assert sorted(name for name in _example if name.startswith("test_")) == [
        "test_a_429_is_retried_and_the_incident_still_opens",
        "test_trigger_opens_an_incident",
    ]
