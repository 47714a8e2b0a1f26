"""A new incident's alert body is stored as text made from a template (`domain.alert_body.alert_body_json`): it must
be exactly what encoding the body's dict gives (`compact_json(event.alert_body())`, what REST then shows), for any
event a sender can send — text with escapes and non-ASCII, numbers and booleans, missing fields, any custom
details, links, images and v1 contexts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fake_pagerduty.domain.alert_body import alert_body_json
from fake_pagerduty.domain.event_requests import V1, V2, decide
from fake_pagerduty.domain.events import AlertEvent
from fake_pagerduty.errors import compact_json

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))  # lone surrogates are refused before
OPTIONAL = st.none() | TEXT
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=10)
LINK = st.fixed_dictionaries({"href": TEXT}, optional={"text": TEXT})
IMAGE = st.fixed_dictionaries({"src": TEXT}, optional={"href": TEXT, "alt": TEXT})

EVENTS = st.builds(
    AlertEvent, api=st.sampled_from(["v1", "v2"]), routing_key=st.just("k" * 32), action=st.just("trigger"),
    dedup_key=OPTIONAL, summary=OPTIONAL, severity=st.sampled_from(["critical", "error", "warning", "info"]),
    source=OPTIONAL, component=OPTIONAL, group=OPTIONAL, class_=OPTIONAL, timestamp=OPTIONAL, custom_details=JSON,
    client=OPTIONAL, client_url=OPTIONAL, links=st.lists(LINK, max_size=2), images=st.lists(IMAGE, max_size=2),
    contexts=st.lists(st.dictionaries(TEXT, JSON, max_size=3), max_size=2), vendor=OPTIONAL)


@given(EVENTS)
def test_the_alert_body_text_is_the_encoded_body_for_any_event(event):
    assert alert_body_json(event) == compact_json(event.alert_body())


def test_the_alert_body_of_decided_events_v2_and_v1():
    v2 = decide(V2, b'{"routing_key":"%s","event_action":"trigger","dedup_key":"caf\\u00e9 \\"1\\"","payload":'
                    b'{"summary":"Disk 98%%\\n","source":"web-1","severity":"info","component":7,"group":true,'
                    b'"custom_details":{"free":1.5e-7,"tags":["a",null]}},"links":[{"href":"https://x","text":"X"}],'
                    b'"images":[{"src":"https://i"}],"client":"Nagios"}' % (b"k" * 32)).event
    v1 = decide(V1, b'{"service_key":"%s","event_type":"trigger","incident_key":"i","description":"d",'
                    b'"details":{"n":1},"contexts":[{"type":"link","href":"https://y"}]}' % (b"k" * 32)).event
    for event in (v2, v1):
        assert alert_body_json(event) == compact_json(event.alert_body())
    assert '"details":{"free":1.5e-07,"tags":["a",null]}' in alert_body_json(v2)
