"""A journal row as the sandbox's API and pages show it: bodies decoded for people (JSON, text or base64)."""

from __future__ import annotations

import base64
import json
from typing import Any


def body_for_people(raw: bytes | str | None) -> tuple[Any, str]:
    """A request or response body for people: parsed JSON when it is JSON, else text, else base64."""
    if raw is None:
        return None, "empty"
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not raw:
        return "", "empty"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"
    try:
        return json.loads(text), "json"
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        return text, "text"


def journal_event(row: Any) -> dict:
    """A journal row as the sandbox API shows it."""
    body, body_format = body_for_people(row["raw_body"])
    response_body, response_format = body_for_people(row["response_body"])
    return {
        "id": row["id"],
        "received_at": row["received_at"],
        "api": row["api"],
        "method": row["method"],
        "path": row["path"],
        "content_type": row["content_type"],
        "routing_key": row["routing_key"],
        "dedup_key": row["dedup_key"],
        "action": row["action"],
        "body": body,
        "body_format": body_format,
        "response": {"status": row["response_status"], "body": response_body, "body_format": response_format},
        "outcome": row["outcome"],
        "detail": row["outcome_detail"],
        "account_id": row["account_id"],
        "service_id": row["service_id"],
        "incident_id": row["incident_id"],
        "alert_id": row["alert_id"],
        "fault_id": row["fault_id"],
        "warnings": (json.loads(row["warnings"]) if row["warnings"] else None) or [],
    }
