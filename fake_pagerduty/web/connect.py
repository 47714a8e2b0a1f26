"""The handshake pages: PagerDuty Connect (`/connect`) and the Simple Install Flow (`/install/integration`).

A bad link (unknown partner app, a callback the partner may not use) gets a 400 page, never a redirect.
Success and cancel leave with a 302 to the partner's callback, which was checked against the partner app's
allowed origins (`domain/callbacks.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fake_pagerduty.domain import accounts
from fake_pagerduty.domain.callbacks import callback_allowed, with_query
from fake_pagerduty.errors import PageError, SignInRequired
from fake_pagerduty.store import Conflict, Store
from fake_pagerduty.web import sessions

CONNECT, INSTALL = "connect", "install"


@dataclass(frozen=True)
class Handshake:
    """A checked handshake link: which partner app, and the callback it will return to."""

    kind: str
    partner: dict
    target: str

    @property
    def hidden(self) -> dict[str, str]:
        """The fields that carry the handshake through its forms."""
        if self.kind == CONNECT:
            return {"vendor": self.partner["vendor_key"], "callback": self.target}
        return {"app_id": self.partner["app_id"], "redirect_url": self.target, "version": "2"}

    @property
    def action(self) -> str:
        return "/connect" if self.kind == CONNECT else "/install/integration"

    @property
    def start_url(self) -> str:
        """Where this handshake starts (and resumes after a sign-in)."""
        return f"{self.action}?{urlencode(self.hidden)}"

    @property
    def cancel_action(self) -> str:
        return self.action + "/cancel"

    @property
    def cancel_url(self) -> str:
        return with_query(self.target, {"error": "cancelled"})


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


async def connect_handshake(store: Store, vendor: str, callback: str) -> Handshake:
    partner = await store.partner_apps.get(vendor) if vendor else None
    if partner is None:
        raise PageError(400, "Unknown partner app",
                        "This Connect link names no partner app the sandbox knows (check the vendor parameter).")
    if not callback_allowed(callback, partner["callback_origins"]):
        raise PageError(400, "This callback URL is not allowed",
                        f"{partner['name']} may only send you back to an http(s) address it registered. "
                        "The link's callback parameter is missing or points elsewhere.")
    return Handshake(CONNECT, partner, callback)


async def install_handshake(store: Store, app_id: str, redirect_url: str, version: str) -> Handshake:
    partner = await store.partner_apps.by_app_id(app_id) if app_id else None
    if partner is None:
        raise PageError(400, "Unknown app", "This install link names no app the sandbox knows (check app_id).")
    if version not in ("", "2"):
        raise PageError(400, "Unsupported install flow version", "The sandbox speaks version=2 of this flow.")
    if not callback_allowed(redirect_url, partner["callback_origins"]):
        raise PageError(400, "This redirect URL is not allowed",
                        f"{partner['name']} may only send you back to an http(s) address it registered. "
                        "The link's redirect_url parameter is missing or points elsewhere.")
    return Handshake(INSTALL, partner, redirect_url)


async def _from_params(store: Store, kind: str, params) -> Handshake:
    get = lambda name: _text(params.get(name))  # noqa: E731
    if kind == CONNECT:
        return await connect_handshake(store, get("vendor"), get("callback"))
    return await install_handshake(store, get("app_id"), get("redirect_url"), get("version"))


async def handshake_from_next(store: Store, next_path: str) -> Handshake | None:
    """The handshake a sign-in is part of (so the sign-in page can offer Cancel), if any."""
    parts = urlsplit(next_path)
    kind = {"/connect": CONNECT, "/install/integration": INSTALL}.get(parts.path)
    if kind is None:
        return None
    try:
        return await _from_params(store, kind, dict(parse_qsl(parts.query)))
    except PageError:
        return None


def _signed_in(request: Request, handshake: Handshake) -> dict:
    """The session; without one (it expired on the way), sign in and come back to the handshake's start."""
    session = sessions.current(request)
    if session is None:
        raise SignInRequired(handshake.start_url)
    return session


def _leave(url: str) -> Response:
    return RedirectResponse(url, status_code=302)


async def _services(request: Request, session: dict) -> list[dict]:
    return await request.app.state.store.services.with_counts(session["account_id"])


def _render(request: Request, handshake: Handshake, services: list[dict], *, status: int = 200,
            service_name: str | None = None, errors: dict | None = None, checked: set[str] | None = None) -> Response:
    if service_name is None:
        service_name = accounts.unique_name(handshake.partner["name"], [s["name"] for s in services])
    template = "connect.html" if handshake.kind == CONNECT else "install.html"
    return request.app.state.templates.TemplateResponse(
        request, template,
        {"handshake": handshake, "partner": handshake.partner, "services": services, "service_name": service_name,
         "errors": errors or {}, "checked": checked or set()},
        status_code=status,
    )


# ---- GET: the page -------------------------------------------------------------------------------------------


async def _page(request: Request, kind: str) -> Response:
    handshake = await _from_params(request.app.state.store, kind, request.query_params)
    session = _signed_in(request, handshake)
    return _render(request, handshake, await _services(request, session))


async def connect_page(request: Request) -> Response:
    return await _page(request, CONNECT)


async def install_page(request: Request) -> Response:
    return await _page(request, INSTALL)


# ---- cancel from the sign-in page (anonymous form) -----------------------------------------------------------


async def _cancel(request: Request, kind: str) -> Response:
    form = await request.form()
    sessions.check_browser_csrf(request, form)
    handshake = await _from_params(request.app.state.store, kind, form)
    return _leave(handshake.cancel_url)


async def connect_cancel(request: Request) -> Response:
    return await _cancel(request, CONNECT)


async def install_cancel(request: Request) -> Response:
    return await _cancel(request, INSTALL)


# ---- POST: create, use, cancel -------------------------------------------------------------------------------


async def connect_submit(request: Request) -> Response:
    form = await request.form()
    store = request.app.state.store
    handshake = await _from_params(store, CONNECT, form)
    session = _signed_in(request, handshake)
    sessions.check_csrf(request, form)
    action = _text(form.get("action"))
    if action == "cancel":
        return _leave(handshake.cancel_url)
    new_names, existing = [], []
    if action == "use":
        existing = [_text(form.get("service_id"))]
        reused = await _partner_integration(store, session, existing[0], handshake.partner["vendor_key"])
        if reused is not None:  # connecting again to the same service: its key, not a second integration
            return _leave(with_query(handshake.target, {"account": session["subdomain"], **reused}))
    else:
        name, problem = accounts.clean_service_name(_text(form.get("service_name")))
        if problem:
            return _render(request, handshake, await _services(request, session), status=400,
                           service_name=name, errors={"service_name": problem})
        new_names = [name]
    try:
        made = await store.services.connect(
            account_id=session["account_id"], vendor_key=handshake.partner["vendor_key"],
            integration_name=handshake.partner["name"], new_names=new_names, existing_ids=existing,
            now=request.app.state.clock.now(),
        )
    except Conflict as exc:
        return _render(request, handshake, await _services(request, session), status=400,
                       service_name=new_names[0] if new_names else None, errors={exc.field: exc.message})
    (result,) = made
    return _leave(with_query(handshake.target, {
        "account": session["subdomain"],
        "service_key": result["integration_key"],
        "service_name": result["service_name"],
    }))


async def _partner_integration(store: Store, session: dict, service_id: str, vendor_key: str) -> dict | None:
    """The partner's integration already on this service of the account, as callback fields, if there is one."""
    service = await store.services.get(session["account_id"], service_id) if service_id else None
    if service is None:
        return None
    for integration in await store.services.integrations_with_vendor(service["id"]):
        if integration.get("vendor_key") == vendor_key:
            return {"service_key": integration["integration_key"], "service_name": service["name"]}
    return None


def install_config(made: list[dict], session: dict) -> str:
    """The `config` parameter of a Simple Install Flow redirect: compact JSON, `name` in lowercase."""
    return json.dumps(
        {
            "integration_keys": [
                {"integration_key": m["integration_key"], "name": m["service_name"], "id": m["service_id"],
                 "type": "service"}
                for m in made
            ],
            "account": {"subdomain": session["subdomain"], "name": session["account_name"]},
        },
        separators=(",", ":"), ensure_ascii=False,
    )


async def install_submit(request: Request) -> Response:
    form = await request.form()
    store = request.app.state.store
    handshake = await _from_params(store, INSTALL, form)
    session = _signed_in(request, handshake)
    sessions.check_csrf(request, form)
    if _text(form.get("action")) == "cancel":
        return _leave(handshake.cancel_url)
    new_names, errors = [], {}
    raw_names = [_text(v) for v in form.getlist("service_name")]
    for raw in raw_names:
        if not raw.strip():
            continue
        name, problem = accounts.clean_service_name(raw)
        if problem:
            errors["service_name"] = problem
        elif name.casefold() in (n.casefold() for n in new_names):
            errors["service_name"] = f"\u201c{name}\u201d is listed twice."
        else:
            new_names.append(name)
    existing = list(dict.fromkeys(_text(v) for v in form.getlist("service_id") if _text(v)))
    if not new_names and not existing and not errors:
        errors["service_name"] = "Name a new service or tick at least one existing service."
    if not errors:
        try:
            made = await store.services.connect(
                account_id=session["account_id"], vendor_key=handshake.partner["vendor_key"],
                integration_name=handshake.partner["name"], new_names=new_names, existing_ids=existing,
                now=request.app.state.clock.now(),
            )
        except Conflict as exc:
            errors[exc.field] = exc.message
        else:
            return _leave(with_query(handshake.target, {"config": install_config(made, session)}))
    services = await _services(request, session)
    first = next((n for n in raw_names if n.strip()), "")
    return _render(request, handshake, services, status=400, service_name=first, errors=errors,
                   checked=set(existing))
