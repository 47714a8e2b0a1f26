"""Rules for people's sandbox accounts: what a sign-up form must hold, and service names that do not clash."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 255


@dataclass(frozen=True)
class SignUp:
    subdomain: str
    account_name: str
    user_name: str
    email: str
    password: str


def validate_signup(form: dict[str, str]) -> tuple[SignUp | None, dict[str, str]]:
    """A clean SignUp, or the problems found, keyed by field name."""
    subdomain = form.get("subdomain", "").strip()
    account_name = form.get("account_name", "").strip()
    user_name = form.get("user_name", "").strip()
    email = form.get("email", "").strip()
    password = form.get("password", "")
    errors: dict[str, str] = {}
    if not subdomain:
        errors["subdomain"] = "Choose a subdomain."
    elif not SUBDOMAIN_RE.match(subdomain):
        errors["subdomain"] = (
            "Use lowercase letters, digits and hyphens only (not at the start or end), at most 63 characters."
        )
    if not account_name:
        errors["account_name"] = "Give the account a name."
    elif len(account_name) > MAX_NAME:
        errors["account_name"] = f"At most {MAX_NAME} characters."
    if not user_name:
        errors["user_name"] = "Tell us your name."
    elif len(user_name) > MAX_NAME:
        errors["user_name"] = f"At most {MAX_NAME} characters."
    if not EMAIL_RE.match(email) or len(email) > MAX_NAME:
        errors["email"] = "Enter an email address like you@example.com."
    if len(password) < 4:
        errors["password"] = "Use at least 4 characters (this is a sandbox, but not an empty one)."
    if errors:
        return None, errors
    return SignUp(subdomain, account_name, user_name, email, password), {}


def unique_name(wanted: str, taken: Iterable[str]) -> str:
    """`wanted`, or `wanted (2)`, `wanted (3)`… — the first that no existing service uses (case-insensitive)."""
    used = {name.casefold() for name in taken}
    if wanted.casefold() not in used:
        return wanted
    number = 2
    while f"{wanted} ({number})".casefold() in used:
        number += 1
    return f"{wanted} ({number})"


def clean_service_name(name: str) -> tuple[str, str | None]:
    """A service name stripped of outer spaces, and the problem with it if any."""
    name = " ".join(name.split())
    if not name:
        return name, "Give the service a name."
    if len(name) > MAX_NAME:
        return name, f"At most {MAX_NAME} characters."
    return name, None
