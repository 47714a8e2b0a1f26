"""Connect with OAuth (issue 14): PagerDuty's OAuth 2.0 authorization code flow with PKCE (S256) and a `state`
tied to the browser session, the tokens kept in SQLite (refreshed before they expire), then the REST API with
the Bearer token: list the account's services, create one if asked, and add the monitor's own Events API v2
integration to it (`POST /services/{id}/integrations`). Its key is then paged through the outbox exactly like a
legacy Connect key. Disconnect revokes the token (`POST /oauth/revoke`).

OAuth calls go to settings.oauth_base (PagerDuty: https://identity.pagerduty.com), REST calls to
settings.api_base (PagerDuty: https://api.pagerduty.com); both default to the sandbox."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

import httpx

from demo_monitor.exceptions import BadRequest
from demo_monitor.pagerduty import utcnow_iso
from demo_monitor.settings import Settings
from demo_monitor.store import Store

log = logging.getLogger("demo_monitor.oauth")

SCOPES = "services.read services.write"
REFRESH_MARGIN = 300.0  # seconds before expiry at which the access token is refreshed first
REST_HEADERS = {"Accept": "application/vnd.pagerduty+json;version=2", "Content-Type": "application/json"}
INTEGRATION_NAME = "Demo Monitor"

# what the consent page or PagerDuty can send back instead of a code (RFC 6749 4.1.2.1), in plain words
_ERRORS = {
    "access_denied": "Access was denied on PagerDuty's consent page",
    "invalid_scope": "PagerDuty refused the permissions the monitor asked for",
    "invalid_request": "PagerDuty found the authorization request invalid",
    "unauthorized_client": "PagerDuty does not let this app use the authorization code flow",
    "unsupported_response_type": "PagerDuty does not support the requested response type",
    "server_error": "PagerDuty had an error",
    "temporarily_unavailable": "PagerDuty is temporarily unavailable",
}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def error_reason(code: str) -> str:
    """The plain-words reason for an OAuth error code (a code not in RFC 6749's list is not echoed)."""
    return _ERRORS.get(code, "PagerDuty reported an error")


def _claims(id_token: str | None) -> dict:
    """The ID token's claims, unverified: it came straight from the token endpoint over our own connection
    (OpenID Connect Core 3.1.3.7 lets a client skip the signature then)."""
    if not id_token or id_token.count(".") != 2:
        return {}
    payload = id_token.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


class OAuthConnect:
    def __init__(self, settings: Settings, store: Store, client: httpx.AsyncClient, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.clock = clock

    # -- the authorization request and its callback ---------------------------------------------------------

    async def start(self, session_id: str) -> str:
        """A fresh state and PKCE verifier kept for this browser session; the authorize URL to send it to."""
        if not session_id:
            raise BadRequest("Your browser sent no session cookie; allow cookies for the monitor and try again.")
        state = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        await self.store.add_oauth_request(state, session_id, verifier, self.clock())
        query = urlencode({
            "client_id": self.settings.oauth_client_id, "redirect_uri": self.settings.oauth_redirect_uri,
            "response_type": "code", "scope": SCOPES, "state": state,
            "code_challenge": s256(verifier), "code_challenge_method": "S256",
        })
        return f"{self.settings.oauth_base}/oauth/authorize?{query}"

    async def callback(self, params: dict[str, str], session_id: str) -> tuple[str, str | None]:
        """('authorized', None) with the tokens stored, or ('denied' | 'error', reason); BadRequest if the
        state is missing, unknown, another browser's, used or old."""
        state = params.get("state", "")
        verifier = await self.store.consume_oauth_request(state, session_id, self.clock()) if state else None
        if verifier is None:
            raise BadRequest("PagerDuty's answer does not match an authorization this browser started (its state "
                             "is missing, wrong, expired or already used), so it cannot be trusted. Start again "
                             "with “Connect with OAuth”.")
        if params.get("error"):
            code = params["error"]
            return ("denied" if code == "access_denied" else "error"), code
        code = params.get("code", "")
        if not code:
            raise BadRequest("PagerDuty's answer has neither a code nor an error. Start again with “Connect with OAuth”.")
        answer = await self._token_request({
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.settings.oauth_redirect_uri,
            "code_verifier": verifier,
        })
        claims = _claims(answer.get("id_token"))
        replaced = await self.store.get_oauth_tokens()
        if replaced is not None:  # connecting again: the previous grant is not left valid at PagerDuty
            await self._revoke(replaced)
        await self.store.save_oauth_tokens(
            access_token=answer["access_token"], refresh_token=answer.get("refresh_token"),
            expires_at=self.clock() + float(answer.get("expires_in") or 3600), scope=str(answer.get("scope", "")),
            subdomain=str(claims.get("subdomain") or ""), now=utcnow_iso(self.clock),
        )
        return "authorized", None

    async def _token_request(self, form: dict[str, str]) -> dict:
        form = {**form, "client_id": self.settings.oauth_client_id,
                "client_secret": self.settings.oauth_client_secret}
        response, body = await self._send("POST", f"{self.settings.oauth_base}/oauth/token",
                                          "PagerDuty could not be reached for a token", data=form)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise BadRequest(f"PagerDuty refused the token request (HTTP {response.status_code}"
                             f"{': ' + str(detail) if detail else ''}). Start again with “Connect with OAuth”.")
        return body

    async def _send(self, method: str, url: str, unreachable: str, **kwargs) -> tuple[httpx.Response, object]:
        """One request to PagerDuty: the answer and its JSON ({} when it is none); `unreachable` starts the message
        a person sees when no answer came."""
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise BadRequest(f"{unreachable} ({type(exc).__name__}). Try again.") from None
        try:
            return response, response.json()
        except ValueError:
            return response, {}

    # -- the token ------------------------------------------------------------------------------------------

    async def pending(self) -> dict | None:
        """The stored tokens, if an OAuth connection exists (with or without its integration yet)."""
        return await self.store.get_oauth_tokens()

    async def access_token(self) -> str:
        tokens = await self.store.get_oauth_tokens()
        if tokens is None:
            raise BadRequest("The monitor holds no PagerDuty token. Start with “Connect with OAuth”.")
        if tokens["expires_at"] - self.clock() > REFRESH_MARGIN or not tokens["refresh_token"]:
            return tokens["access_token"]
        answer = await self._token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        await self.store.update_oauth_tokens(
            access_token=answer["access_token"], refresh_token=answer.get("refresh_token"),
            expires_at=self.clock() + float(answer.get("expires_in") or 3600),
        )
        return answer["access_token"]

    # -- the REST API with the Bearer token -------------------------------------------------------------------

    async def _rest(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        token = await self.access_token()
        headers = {**REST_HEADERS, "Authorization": f"Bearer {token}"}
        response, data = await self._send(method, f"{self.settings.api_base}{path}",
                                          "PagerDuty's REST API could not be reached", headers=headers, json=body,
                                          params=params)
        if response.status_code >= 400 or not isinstance(data, dict):
            error = data.get("error") if isinstance(data, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            errors = error.get("errors") if isinstance(error, dict) else None
            detail = "; ".join(str(e) for e in errors) if isinstance(errors, list) and errors else message
            raise BadRequest(f"PagerDuty answered {method} {path} with HTTP {response.status_code}"
                             f"{': ' + str(detail) if detail else ''}.")
        return data

    async def services(self) -> list[dict]:
        """The account's services (id, name), every page."""
        found: list[dict] = []
        offset = 0
        while True:
            data = await self._rest("GET", "/services", params={"limit": 100, "offset": offset})
            found += [{"id": s.get("id"), "name": s.get("name") or s.get("summary") or s.get("id")}
                      for s in data.get("services", []) if isinstance(s, dict) and s.get("id")]
            if not data.get("more") or len(found) >= 1000:
                return found
            offset += 100

    async def choose_service(self, service_id: str, new_name: str) -> str:
        """Create the service if a name is given, else use `service_id`; add the monitor's Events API v2
        integration to it and store its key as the connection. Returns the service's name."""
        new_name = new_name.strip()
        if new_name:
            if len(new_name) > 255:
                raise BadRequest("The service name is too long (255 characters at most).")
            created = await self._rest("POST", "/services", {"service": {
                "type": "service", "name": new_name, "description": "Alerts from the Demo Monitor"}})
            service = created.get("service") or {}
        else:
            known = {s["id"]: s for s in await self.services()}
            if service_id not in known:
                raise BadRequest("Choose one of the account's services, or name a new one.")
            service = known[service_id]
        if not service.get("id"):
            raise BadRequest("PagerDuty's answer has no service.")
        made = await self._rest("POST", f"/services/{service['id']}/integrations", {"integration": {
            "type": "events_api_v2_inbound_integration", "name": INTEGRATION_NAME}})
        key = (made.get("integration") or {}).get("integration_key") or ""
        if len(key) != 32 or not key.isalnum():
            raise BadRequest("PagerDuty's answer has no 32-character integration key.")
        tokens = await self.store.get_oauth_tokens() or {}
        await self.store.save_integration(tokens.get("subdomain") or "(unknown account)", key,
                                          service.get("name") or service["id"], utcnow_iso(self.clock), via="oauth")
        return service.get("name") or service["id"]

    async def revoke(self) -> None:
        """Revoke the stored tokens at PagerDuty (the refresh token takes its access tokens with it) and forget
        them. A PagerDuty that cannot be reached does not keep the monitor connected: logged, and forgotten."""
        tokens = await self.store.get_oauth_tokens()
        if tokens is None:
            return
        await self._revoke(tokens)
        await self.store.delete_oauth_tokens()

    async def _revoke(self, tokens: dict) -> None:
        for token in (tokens["refresh_token"], tokens["access_token"]):
            if not token:
                continue
            try:
                response = await self.client.post(f"{self.settings.oauth_base}/oauth/revoke", data={
                    "client_id": self.settings.oauth_client_id, "client_secret": self.settings.oauth_client_secret,
                    "token": token})
                if response.status_code != 200:
                    log.warning("revoking the PagerDuty token: HTTP %s %s", response.status_code, response.text[:200])
            except httpx.HTTPError as exc:
                log.warning("revoking the PagerDuty token failed: %s", exc)
