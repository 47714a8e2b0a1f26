"""Errors the web layer turns into 4xx answers: raised by the monitor's services, shown to people as is."""

from __future__ import annotations


class NotFound(LookupError):
    """Unknown server, alert or rule (404)."""


class BadRequest(ValueError):
    """Input that does not make sense (400); the message is shown as is."""
