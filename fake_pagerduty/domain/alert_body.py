"""An alert's stored body (`AlertEvent.alert_body`) as compact JSON, written straight from the event's fields: the
same text as `compact_json(event.alert_body())`, in a third of the time. The body repeats most fields two or three
times (`details`, `cef_details` and `payload` each carry the custom details, the summary, the source…); here each
is encoded once and the text put together from a template. Every new incident's alert is written this way."""

from __future__ import annotations

from json.encoder import encode_basestring  # how compact_json's encoder writes a string (ensure_ascii off)
from typing import Any

from fake_pagerduty.domain.events import AlertEvent
from fake_pagerduty.errors import compact_json


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring(value)
    return compact_json(value)


def alert_body_json(event: AlertEvent) -> str:
    found = event.body_contexts()
    contexts = compact_json(found) if found else "[]"
    details = _json(event.custom_details)
    summary, severity, source = _json(event.summary), _json(event.severity), _json(event.source)
    component, group, class_ = _json(event.component), _json(event.group), _json(event.class_)
    timestamp, client, client_url = _json(event.timestamp), _json(event.client), _json(event.client_url)
    return (
        f'{{"type":"alert_body","api":{_json(event.api)},"contexts":{contexts},"details":{details},'
        f'"cef_details":{{"client":{client},"client_url":{client_url},"contexts":{contexts},'
        f'"dedup_key":{_json(event.dedup_key)},"description":{summary},"details":{details},'
        f'"event_class":{class_},"message":{summary},"mutations":[],"priority":null,'
        f'"reporter_component":{component},"reporter_location":null,"severity":{severity},'
        f'"source_component":{component},"source_location":{source},"source_origin":{source},'
        f'"service_group":{group},"creation_time":{timestamp}}},'
        f'"payload":{{"summary":{summary},"severity":{severity},"source":{source},"component":{component},'
        f'"group":{group},"class":{class_},"timestamp":{timestamp},"custom_details":{details}}},'
        f'"client":{client},"client_url":{client_url},"vendor":{_json(event.vendor)}}}'
    )
