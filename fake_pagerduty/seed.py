"""The sandbox's seed data: the defaults DESIGN.md lists, and `--seed FILE` (JSON or TOML) on top.

Seed file shape (every list optional; entries are added, or replace the one with the same key):

    [[accounts]]                      # key: subdomain
    subdomain = "globex"
    name = "Globex"
    users = [{ name = "Hank", email = "hank@globex.test", password = "secret" }]
    api_keys = ["globex-api-key"]
    [[accounts.services]]             # key: (account, name)
    name = "Payments"
    acknowledgement_timeout = 600     # seconds; omit for 1800, false for off
    auto_resolve_timeout = false
    integrations = [{ key = "0123456789abcdef0123456789abcdef", name = "Events API v2" }]
    # People (key: id; ids are yours to choose): users may add role, time_zone, job_title, color,
    # contact_methods = [{ id, type = "sms_contact_method", label, address, country_code }] and
    # notification_rules = [{ id, contact_method = "<its id>", start_delay_in_minutes, urgency }];
    # teams = [{ id, name, members = [{ user = "<user id>", role }] }], priorities = [{ id, name, order, color }],
    # schedules = [{ id, name, time_zone, layers = [{ id, start, rotation_virtual_start,
    #   rotation_turn_length_seconds, users = ["<user id>", …], restrictions = [...] }] }] (a time may be
    #   "seed_day", "seed_day+7d": midnight UTC of the seeding day, plus days), and
    # escalation_policies = [{ id, name, num_loops, default = true, services = ["Payments"],
    #   rules = [{ id, escalation_delay_in_minutes, targets = [{ type = "schedule_reference", id }] }] }]
    # — the demo account's, in fake_pagerduty/seed_people.py, are an example.

    [[partner_apps]]                  # key: vendor_key
    vendor_key = "acme-monitor"
    app_id = "PACMEMN"
    name = "Acme Monitor"
    callback_origins = ["http://127.0.0.1:*"]
    webhook_url = "http://127.0.0.1:9000/hooks/pagerduty"
    webhook_secret = "s3cret"

    [[oauth_apps]]                    # key: client_id (OAuth 2.0 apps, /oauth/…)
    client_id = "acme-oauth"
    client_secret = "acme-oauth-secret"
    name = "Acme Monitor"
    kind = "scoped"                   # or "classic"
    client_type = "confidential"      # or "public"
    redirect_uris = ["http://127.0.0.1:*/oauth/callback"]   # port `*`: any port
    scopes = ["incidents.read", "services.read"]
    account = "acme"                  # optional: only this account's users (default: any account)
"""

from __future__ import annotations

import functools
import json
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from fake_pagerduty.domain import ids
from fake_pagerduty.domain.oauth import token_hash
from fake_pagerduty.passwords import hash_password
from fake_pagerduty.seed_people import DEMO_PEOPLE, demo_users, resolved
from fake_pagerduty.store import Store

SAMPLE_ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"
SANDBOX_EMAIL = "demo@acme.test"
SANDBOX_PASSWORD = "demo"
SANDBOX_API_KEY = "sandbox-api-key-acme"
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "https://127.0.0.1:*", "https://localhost:*"]
DEMO_OAUTH_CLIENT_ID = "demo-monitor-oauth"
DEMO_OAUTH_CLIENT_SECRET = "demo-monitor-oauth-secret"
DEMO_OAUTH_CALLBACK_PATH = "/integrations/pagerduty/oauth/callback"
DEMO_OAUTH_SCOPES = ["incidents.read", "incidents.write", "services.read", "services.write",
                     "webhook_subscriptions.read", "webhook_subscriptions.write"]

DEFAULT_SEED: dict[str, Any] = {
    "partner_apps": [
        {
            "vendor_key": "demo-monitor",
            "app_id": "PDEMOMN",
            "name": "Demo Monitor",
            "callback_origins": LOOPBACK_ORIGINS,
            "webhook_url": "http://127.0.0.1:8000/integrations/pagerduty/webhook",
            "webhook_secret": "demo-webhook-secret",
        }
    ],
    "oauth_apps": [
        {
            "client_id": DEMO_OAUTH_CLIENT_ID,
            "client_secret": DEMO_OAUTH_CLIENT_SECRET,
            "name": "Demo Monitor",
            "kind": "scoped",
            "client_type": "confidential",
            "redirect_uris": [origin + DEMO_OAUTH_CALLBACK_PATH for origin in LOOPBACK_ORIGINS],
            "scopes": DEMO_OAUTH_SCOPES,
        }
    ],
    "accounts": [
        {
            "id": "PACME00",
            "subdomain": "acme",
            "name": "Acme Corp",
            "users": demo_users(SANDBOX_EMAIL, SANDBOX_PASSWORD),  # Dana Demo, Sam Rivera, Priya Patel
            **DEMO_PEOPLE,  # teams, schedules, escalation policies, priorities (seed_people.py)
            "api_keys": [SANDBOX_API_KEY],
            "services": [
                {
                    "id": "PWEBS00",
                    "name": "Acme Website",
                    "description": "The sample service; its integration key is the one in PagerDuty's own docs.",
                    "integrations": [
                        {"id": "PINTG00", "key": SAMPLE_ROUTING_KEY, "name": "Events API v2"},
                    ],
                }
            ],
        }
    ],
}


@functools.lru_cache(maxsize=64)
def _seeded_password_hash(password: str) -> str:
    """Seeded passwords are hashed once per process: a fresh salt for every new database buys nothing in a
    sandbox, and a test run seeds hundreds of them (Argon2 is slow on purpose)."""
    return hash_password(password)


class SeedError(ValueError):
    """A seed file that cannot be read or does not have the expected shape."""


def load_seed_file(path: Path) -> dict:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from exc
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text.decode("utf-8"))
        else:
            data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SeedError(f"seed file {path} is not valid {path.suffix.lstrip('.').upper() or 'JSON'}: {exc}") from exc
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path} must hold an object with 'accounts' and/or 'partner_apps'")
    return data


def _timeout(value: Any, default: int) -> int | None:
    if value is None:
        return default
    if value is False:
        return None
    return int(value)


async def apply_seed(store: Store, seed: dict, now: datetime, *, missing_only: bool = False) -> None:
    """Add or replace what a seed document describes; with `missing_only`, only add what does not exist
    (a sandbox reset re-creates seeded things without undoing changes made to them since)."""
    have = await store.sandbox.seed_keys() if missing_only else None
    try:
        for app in seed.get("partner_apps", []):
            if have and app["vendor_key"] in have.vendor_keys:
                continue
            await store.partner_apps.upsert(
                vendor_key=app["vendor_key"],
                app_id=app.get("app_id") or ids.short_id(),
                name=app.get("name", app["vendor_key"]),
                callback_origins=list(app.get("callback_origins", LOOPBACK_ORIGINS)),
                webhook_url=app.get("webhook_url"),
                webhook_secret=app.get("webhook_secret"),
                now=now,
            )
        for account in seed.get("accounts", []):
            existing = await store.accounts.by_subdomain(account["subdomain"])
            account_id = existing["id"] if existing else account.get("id") or ids.short_id()
            if not (have and existing):
                await store.accounts.upsert(
                    id=account_id, subdomain=account["subdomain"], name=account.get("name", account["subdomain"]),
                    now=now,
                )
            seeded_users = []
            for user in account.get("users", []):
                if have and user["email"].lower() in have.emails:
                    continue
                seeded_users.append(user)
                await store.accounts.upsert_user(
                    id=user.get("id") or ids.short_id(),
                    account_id=account_id,
                    name=user.get("name", user["email"]),
                    email=user["email"],
                    password_hash=_seeded_password_hash(user["password"]),
                    now=now,
                )
            for token in account.get("api_keys", []):
                if have and token in have.api_keys:
                    continue
                await store.accounts.upsert_api_key(token=token, account_id=account_id, description="seeded", now=now)
            for service in account.get("services", []):
                service_id = have.services.get((account_id, service["name"])) if have else None
                if service_id is None:
                    service_id = await store.services.upsert(
                        id=service.get("id") or ids.short_id(),
                        account_id=account_id,
                        name=service["name"],
                        description=service.get("description", ""),
                        urgency_rule=service.get("urgency_rule", "severity_based"),
                        acknowledgement_timeout=_timeout(service.get("acknowledgement_timeout"), 1800),
                        auto_resolve_timeout=_timeout(service.get("auto_resolve_timeout"), 14400),
                        vendor_key=service.get("vendor_key"),
                        now=now,
                    )
                for integration in service.get("integrations", []):
                    if have and integration["key"] in have.integration_keys:
                        continue
                    await store.services.upsert_integration(
                        id=integration.get("id") or ids.short_id(),
                        service_id=service_id,
                        integration_key=integration["key"],
                        name=integration.get("name", "Events API v2"),
                        type=integration.get("type", "events_api_v2_inbound_integration"),
                        vendor_key=integration.get("vendor_key"),
                        now=now,
                    )
            await store.people.seed(account_id, {**resolved(account, now), "users": seeded_users}, now,
                                    missing_only=missing_only)
        for app in seed.get("oauth_apps", []):
            if have and app["client_id"] in have.oauth_client_ids:
                continue
            await _oauth_app(store, app, now)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SeedError(f"seed data is missing or has a wrong field: {exc}") from exc


async def _oauth_app(store: Store, app: dict, now: datetime) -> None:
    if app.get("kind", "scoped") not in ("scoped", "classic"):
        raise ValueError(f"oauth app {app['client_id']}: kind must be scoped or classic")
    if app.get("client_type", "confidential") not in ("confidential", "public"):
        raise ValueError(f"oauth app {app['client_id']}: client_type must be confidential or public")
    account_id = None
    if app.get("account"):
        account = await store.accounts.by_subdomain(app["account"])
        if account is None:
            raise ValueError(f"oauth app {app['client_id']}: no account {app['account']!r}")
        account_id = account["id"]
    await store.oauth.upsert_app(
        client_id=app["client_id"], secret_hash=token_hash(app.get("client_secret", "")),
        name=app.get("name", app["client_id"]), kind=app.get("kind", "scoped"),
        client_type=app.get("client_type", "confidential"),
        redirect_uris=[str(uri) for uri in app["redirect_uris"]], scopes=[str(s) for s in app.get("scopes", [])],
        account_id=account_id, now=now,
    )


async def seed_sandbox(store: Store, seed_file: Path | None, now: datetime, *, defaults: bool = True,
                       missing_only: bool = False) -> None:
    """The sandbox's seed: the default seed (unless `defaults` is false), then `--seed FILE` on top. The one
    way in for the app's start (the defaults only on an empty database) and for every reset (reset.py)."""
    if defaults:
        await apply_seed(store, DEFAULT_SEED, now, missing_only=missing_only)
    if seed_file:
        await apply_seed(store, load_seed_file(seed_file), now, missing_only=missing_only)
