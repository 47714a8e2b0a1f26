"""The success answer made as text (`event_requests.success_body`) is exactly what encoding PagerDuty's body gives,
for any key a sender can send (escapes, non-ASCII, lone surrogates aside: those are refused before)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fake_pagerduty.domain.event_requests import SUCCESS, V1, V2, decide, success_body
from fake_pagerduty.errors import compact_json


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_the_success_body_is_the_encoded_dict_for_any_key(key):
    for field in ("dedup_key", "incident_key"):
        assert success_body(field, key) == compact_json({**SUCCESS, field: key})


def test_each_api_answers_with_its_key_and_a_change_event_without_one():
    v2 = decide(V2, b'{"routing_key":"%s","event_action":"trigger","dedup_key":"caf\\u00e9 \\"1\\"",'
                    b'"payload":{"summary":"s","source":"s","severity":"info"}}' % (b"k" * 32))
    assert (v2.status, v2.body) == (202, '{"status":"success","message":"Event processed","dedup_key":"café \\"1\\""}')
    v1 = decide(V1, b'{"service_key":"%s","event_type":"trigger","incident_key":"i","description":"d"}' % (b"k" * 32))
    assert (v1.status, v1.body) == (200, '{"status":"success","message":"Event processed","incident_key":"i"}')
