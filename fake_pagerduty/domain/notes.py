"""Incident notes, the rules: what a note may hold and how many an incident takes (PagerDuty: 2,000)."""

from __future__ import annotations

from typing import Any

MAX_NOTES = 2000
MAX_CONTENT = 25_000  # characters


class TooManyNotes(Exception):
    """The incident already holds MAX_NOTES notes (nothing was written)."""


def content_error(value: Any) -> str | None:
    """Why `value` cannot be a note's content (PagerDuty's wording), or None."""
    if not isinstance(value, str) or not value.strip():
        return "Content can't be blank"
    if len(value) > MAX_CONTENT:
        return f"Content is too long (maximum is {MAX_CONTENT} characters)"
    return None
