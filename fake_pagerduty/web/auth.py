"""Sign in, sign up and sign out.

Failed sign-ins are counted per email (`app.state.login_failures`, 10 in 5 minutes) and per client address
(`app.state.login_failures_by_address`, 30 in 5 minutes: everyone on a laptop shares 127.0.0.1; a success does
not clear it, so trying many emails from one place is limited too); past either limit the sign-in page answers
429 until the window passes. Both windows are made with the app (`app.memory_state`) and forgotten by a full
reset. An unknown email costs the same password check as a wrong password (`passwords.check_sign_in`), so
timing does not tell which emails have accounts. After signing in, people go where they were going (`?next=`,
same-site paths only), so a handshake resumes where it left off.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fake_pagerduty import seed
from fake_pagerduty.domain import accounts
from fake_pagerduty.domain.callbacks import safe_next
from fake_pagerduty.errors import PageError
from fake_pagerduty.passwords import check_sign_in, hash_password
from fake_pagerduty.store import Conflict
from fake_pagerduty.web import sessions
from fake_pagerduty.web.connect import handshake_from_next


def _field(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _login_page(request: Request, next_path: str, *, email: str = "", error: str = "",
                      status: int = 200) -> Response:
    handshake = await handshake_from_next(request.app.state.store, next_path)
    return request.app.state.templates.TemplateResponse(
        request, "login.html",
        {"next": next_path, "email": email, "error": error, "handshake": handshake,
         "sandbox_email": seed.SANDBOX_EMAIL, "sandbox_password": seed.SANDBOX_PASSWORD},
        status_code=status,
    )


async def login_page(request: Request) -> Response:
    return await _login_page(request, safe_next(request.query_params.get("next")))


def _too_many() -> PageError:
    return PageError(429, "Too many failed sign-in attempts",
                     "There have been too many failed sign-ins for this account, or from this address, in the last "
                     "few minutes. Wait a few minutes and try again.")


async def login(request: Request) -> Response:
    form = await request.form()
    sessions.check_browser_csrf(request, form)
    state = request.app.state
    next_path = safe_next(_field(form, "next"))
    email = _field(form, "email").strip()
    key = email.casefold()
    address = request.client.host if request.client else ""
    now = state.clock.now()
    by_address = state.login_failures_by_address
    if state.login_failures.blocked(key, now) or by_address.blocked(address, now):
        raise _too_many()
    user = await state.store.accounts.user_for_sign_in(email) if email else None
    password = _field(form, "password")
    if not await run_in_threadpool(check_sign_in, user["password_hash"] if user else None, password) or not user:
        state.login_failures.fail(key, now)
        by_address.fail(address, now)
        return await _login_page(request, next_path, email=email, error="Wrong email or password.", status=400)
    state.login_failures.clear(key)
    response = RedirectResponse(next_path, status_code=303)
    await sessions.sign_in(request, response, user["id"])
    return response


async def logout(request: Request) -> Response:
    form = await request.form()
    if sessions.current(request) is not None:
        sessions.check_csrf(request, form)
    response = RedirectResponse("/login", status_code=303)
    await sessions.sign_out(request, response)
    return response


async def _signup_page(request: Request, next_path: str, values: dict, errors: dict, status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "signup.html", {"next": next_path, "values": values, "errors": errors}, status_code=status
    )


async def signup_page(request: Request) -> Response:
    return await _signup_page(request, safe_next(request.query_params.get("next")), {}, {})


async def signup(request: Request) -> Response:
    form = await request.form()
    sessions.check_browser_csrf(request, form)
    state = request.app.state
    next_path = safe_next(_field(form, "next"))
    values = {name: _field(form, name) for name in ("subdomain", "account_name", "user_name", "email", "password")}
    shown = {k: v for k, v in values.items() if k != "password"}
    new, errors = accounts.validate_signup(values)
    if new is None:
        return await _signup_page(request, next_path, shown, errors, status=400)
    password_hash = await run_in_threadpool(hash_password, new.password)
    try:
        _, user_id = await state.store.accounts.create(
            subdomain=new.subdomain, account_name=new.account_name, user_name=new.user_name, email=new.email,
            password_hash=password_hash, now=state.clock.now(),
        )
    except Conflict as exc:
        return await _signup_page(request, next_path, shown, {exc.field: exc.message}, status=400)
    response = RedirectResponse(next_path, status_code=303)
    await sessions.sign_in(request, response, user_id)
    return response
